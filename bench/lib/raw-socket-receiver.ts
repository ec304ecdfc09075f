/**
 * The ceiling for any upload on this machine: the least a process can do to receive a file over
 * one TCP socket and store it. No HTTP, no parsing, no stream objects: it connects to the sender
 * (only a connecting socket can read into a caller's buffer in Node, `onread`), reads into one
 * reused 1 MiB buffer, writes each read synchronously to the file, flushes it to disk when the
 * sender ends, then answers "ok" and closes.
 *
 *   node --import tsx bench/lib/raw-socket-receiver.ts <port> <target file>
 */
import fs from "node:fs";
import net from "node:net";

const [port, target] = process.argv.slice(2);
if (!port || !target) throw new Error("usage: raw-socket-receiver.ts <port> <target file>");

const fd = fs.openSync(target, "w");
const buffer = Buffer.allocUnsafe(2 ** 20);
const socket = net.connect({
  host: "127.0.0.1",
  port: Number(port),
  allowHalfOpen: true,
  onread: {
    buffer,
    callback: (bytes) => {
      fs.writeSync(fd, buffer, 0, bytes);
      return true;
    },
  },
});
socket.on("end", () => {
  fs.fdatasyncSync(fd);
  fs.closeSync(fd);
  socket.end("ok");
});
