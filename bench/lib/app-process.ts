import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { build } from "esbuild";
import { startCommand as parseStartScript } from "../../scripts/lint-dockerfile.mjs";

const REPO = path.resolve(import.meta.dirname, "../..");
/** Coffer itself; bench/lib/bare-tus-server.ts is the other choice. */
export const APP_SERVER = path.join(REPO, "bench/lib/server.ts");
export const BARE_TUS_SERVER = path.join(REPO, "bench/lib/bare-tus-server.ts");
export const BARE_HTTP_SERVER = path.join(REPO, "bench/lib/bare-http-server.ts");
export const BARE_PAGE_SERVER = path.join(REPO, "bench/lib/bare-page-server.ts");
export const RAW_SOCKET_RECEIVER = path.join(REPO, "bench/lib/raw-socket-receiver.ts");
export const BARE_LOAD_SERVER = path.join(REPO, "bench/lib/bare-load-server.ts");

export interface AppProcess {
  url: string;
  /** The pid of the Node process that serves HTTP (the one whose memory to measure). */
  pid: number;
  /** Server log lines (warnings and errors) seen so far. */
  log: string[];
  stop(): Promise<void>;
  /** The server's V8 heap and off-heap memory (bench/lib/server.ts answers over IPC). */
  memoryUsage(timeoutMs?: number): Promise<ServerMemoryUsage>;
}

export type ServerMemoryUsage = Pick<NodeJS.MemoryUsage, "heapUsed" | "heapTotal" | "external" | "arrayBuffers">;

/**
 * Runs bench/lib/server.ts (or another `script` that prints the same ready line) in its own Node
 * process with exactly `env` (Coffer's own server also with the environment and Node flags of
 * `npm start`, see startCommand), and waits until it listens. The script is compiled first, as
 * `npm run build` compiles server.ts, so the server runs plain JavaScript like `npm start`;
 * BENCH_TSX=1 runs it through tsx instead (how `npm start` ran before 2026-12-05).
 */
export async function startAppProcess(env: Record<string, string>, script = APP_SERVER, timeoutMs = 180_000): Promise<AppProcess> {
  // For investigations, e.g. BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof".
  const start =
    script === APP_SERVER
      ? startCommand(env.COFFER_BENCH_BUILD ? path.resolve(env.COFFER_BENCH_BUILD) : path.join(REPO, "build"))
      : { env: {}, nodeArgs: [] };
  const nodeArgs = [...start.nodeArgs, ...(process.env.BENCH_SERVER_NODE_ARGS ?? "").split(/\s+/).filter(Boolean)];
  const entry = process.env.BENCH_TSX === "1" ? ["--import", "tsx", script] : [await compiled(script)];
  const child = spawn(process.execPath, [...nodeArgs, ...entry], {
    cwd: REPO,
    env: {
      NODE_ENV: "production",
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      ...start.env,
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  const log: string[] = [];
  const keep = (line: string) => {
    log.push(line);
    if (log.length > (process.env.BENCH_KEEP_SERVER_LOG ? 100_000 : 200)) log.shift();
  };
  createInterface({ input: child.stderr! }).on("line", keep);

  const ready = new Promise<{ url: string; pid: number }>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`Coffer did not start within ${timeoutMs / 1000} s:\n${log.slice(-30).join("\n")}`)),
      timeoutMs,
    );
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const match = /^COFFER_BENCH_READY url=(\S+) pid=(\d+)$/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve({ url: match[1]!, pid: Number(match[2]) });
      } else keep(line);
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`Coffer exited during start-up (${signal ?? `code ${code}`}):\n${log.slice(-30).join("\n")}`));
    });
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });

  const stop = () => stopChild(child);
  try {
    const { url, pid } = await ready;
    return { url, pid, log, stop, memoryUsage: (ms) => askMemoryUsage(child, ms) };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * How `npm start` runs the server (package.json's start script: its environment and Node flags),
 * so that Coffer runs here as in production: from the package.json beside `build` (a copy of an
 * earlier build made for a comparison carries its own), else the repository's. NODE_ENV is the
 * caller's.
 */
export function startCommand(build: string): { env: Record<string, string>; nodeArgs: string[] } {
  const beside = path.join(path.dirname(build), "package.json");
  const manifest = JSON.parse(fs.readFileSync(fs.existsSync(beside) ? beside : path.join(REPO, "package.json"), "utf8")) as {
    scripts: Record<string, string>;
  };
  const start = parseStartScript(manifest.scripts.start ?? "");
  if (!start)
    throw new Error(`package.json's start script is not "[NAME=value…] exec node [--flag…] build/start.js": ${manifest.scripts.start}`);
  return { env: Object.fromEntries(start.env.filter(([name]) => name !== "NODE_ENV")), nodeArgs: start.nodeArgs };
}

function askMemoryUsage(child: ChildProcess, timeoutMs = 10_000): Promise<ServerMemoryUsage> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off("message", onMessage);
      reject(new Error(`the server did not report its memory within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    const onMessage = (message: unknown) => {
      const usage = (message as { memoryUsage?: ServerMemoryUsage } | null)?.memoryUsage;
      if (!usage) return;
      clearTimeout(timer);
      child.off("message", onMessage);
      resolve(usage);
    };
    child.on("message", onMessage);
    child.send("memory-usage");
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  await exited;
  clearTimeout(timer);
}

/** `script` bundled into build/bench/ (packages stay external, resolved from node_modules). */
async function compiled(script: string): Promise<string> {
  const outfile = path.join(REPO, "build/bench", `${path.basename(script, ".ts")}.js`);
  await build({
    entryPoints: [script],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    packages: "external",
    target: "node20.19",
    logLevel: "warning",
  });
  return outfile;
}
