import http from "node:http";
import type { AddressInfo } from "node:net";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { trackConnections } from "./drain.server";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A server whose /slow requests answer only when `release()` is called. */
async function startServer() {
  const waiting: Array<() => void> = [];
  const server = http.createServer((req, res) => {
    if (req.url === "/slow" || req.url === "/realtime") waiting.push(() => res.end("slow"));
    else res.end("quick");
  });
  server.on("upgrade", () => {});
  const drain = trackConnections(server, (req) => req.url === "/realtime");
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const release = () => {
    for (const answer of waiting.splice(0)) answer();
  };
  return { server, drain, port, release };
}

/** A raw connection: what it received, and whether the server closed it. */
function connect(port: number) {
  const socket = net.connect(port, "127.0.0.1");
  const state = { received: "", closed: false };
  socket.on("data", (chunk) => (state.received += chunk));
  socket.on("close", () => (state.closed = true));
  socket.on("error", () => {});
  return Object.assign(state, { socket, send: (text: string) => socket.write(text) });
}

const request = (path: string) => `GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`;

let running: Awaited<ReturnType<typeof startServer>> | null = null;
afterEach(async () => {
  running?.server.closeAllConnections();
  running?.server.close();
  running = null;
});

describe("trackConnections", () => {
  it("closes connections with nothing in flight at once, and is settled", async () => {
    running = await startServer();
    const kept = connect(running.port);
    kept.send(request("/quick"));
    const fresh = connect(running.port);
    await sleep(100);
    expect(kept.received).toContain("keep-alive");

    running.drain.begin();
    expect(await running.drain.settled(1000)).toBe(true);
    await sleep(50);
    expect(kept.closed).toBe(true);
    expect(fresh.closed).toBe(true);
  });

  it("waits for a request in flight, answers it with Connection: close, then closes its connection", async () => {
    running = await startServer();
    const busy = connect(running.port);
    busy.send(request("/slow"));
    await sleep(100);
    expect(running.drain.requests().map(({ req }) => req.url)).toEqual(["/slow"]);

    running.drain.begin();
    const settled = running.drain.settled(5000);
    await sleep(100);
    expect(busy.closed).toBe(false);
    running.release();
    expect(await settled).toBe(true);
    await sleep(50);
    expect(busy.received).toMatch(/connection: close/i);
    expect(busy.closed).toBe(true);
  });

  it("counts a request whose headers are still arriving as in flight", async () => {
    running = await startServer();
    const arriving = connect(running.port);
    arriving.send("GET /quick HTTP/1.1\r\n");
    await sleep(100);

    running.drain.begin();
    expect(await running.drain.settled(100)).toBe(false);
    arriving.send("Host: localhost\r\n\r\n");
    expect(await running.drain.settled(1000)).toBe(true);
    await sleep(50);
    expect(arriving.received).toMatch(/^HTTP\/1\.1 200 [\s\S]*connection: close/i);
  });

  it("does not wait for realtime requests or upgraded connections", async () => {
    running = await startServer();
    const poll = connect(running.port);
    poll.send(request("/realtime"));
    const upgraded = connect(running.port);
    upgraded.send("GET /ws HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
    await sleep(100);

    running.drain.begin();
    expect(await running.drain.settled(1000)).toBe(true);
    expect(running.drain.requests()).toEqual([]);
    expect(poll.closed).toBe(false);
    expect(upgraded.closed).toBe(false);
  });

  it("gives up when the time is out; cut() then closes what is left and counts the requests it cut", async () => {
    running = await startServer();
    const busy = connect(running.port);
    busy.send(request("/slow"));
    await sleep(100);

    running.drain.begin();
    expect(await running.drain.settled(200)).toBe(false);
    expect(running.drain.cut()).toBe(1);
    await sleep(50);
    expect(busy.closed).toBe(true);
    expect(busy.received).toBe("");
  });
});
