/**
 * `node --import tsx --import ./tests/support/module-recorder.mjs script`: records the URL of
 * every module the process resolves through the ESM loader (app code, the server build and each
 * package it imports, dynamic imports included) and sends the list to the parent over IPC when
 * asked with the message "resolved-modules" (or, with COFFER_MODULE_LOG set, to that file on exit).
 */
import fs from "node:fs";
import { register } from "node:module";
import { MessageChannel } from "node:worker_threads";

const resolved = new Set();
const { port1, port2 } = new MessageChannel();
port1.on("message", (url) => resolved.add(url));
port1.unref();
register("./module-recorder-hooks.mjs", { parentURL: import.meta.url, data: { port: port2 }, transferList: [port2] });

process.on("message", (message) => {
  if (message === "resolved-modules") process.send?.({ resolvedModules: [...resolved] });
});

// A short-lived command (npx coffer) cannot be asked: it writes its list where this names on exit.
if (process.env.COFFER_MODULE_LOG) process.on("exit", () => fs.writeFileSync(process.env.COFFER_MODULE_LOG, [...resolved].join("\n")));
