import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import { freePort } from "./free-port";

export interface RunningRedis {
  url: string;
  port: number;
  stop(): Promise<void>;
  /** SIGKILL, as a crash: nothing is saved beyond what the append-only file already holds. */
  kill(): Promise<void>;
}

export interface RedisOptions {
  /** Default: a free one. A restarted server takes its predecessor's port. */
  port?: number;
  /** Writes every command to an append-only file in workDir (fsync always), so a restart keeps the data. */
  persistent?: boolean;
}

/** Starts a throwaway Debian `redis-server` on a free port, with persistence off unless asked for. */
export async function startRedis(workDir: string, options: RedisOptions = {}): Promise<RunningRedis> {
  if (spawnSync("redis-server", ["--version"]).status !== 0) {
    throw new Error("redis-server is not installed: run `apt-get install redis-server` (scripts/test.sh does this when run as root).");
  }
  const port = options.port ?? (await freePort());
  fs.mkdirSync(workDir, { recursive: true });
  const persistence = options.persistent ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"];
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", ...persistence, "--dir", workDir, "--daemonize", "no"],
    { stdio: "ignore" },
  );
  await waitForPort(port, 10_000);
  const end = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill(signal);
    await exited;
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: () => end("SIGTERM"),
    kill: () => end("SIGKILL"),
  };
}

export async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`Nothing listened on port ${port} within ${timeoutMs} ms`);
}
