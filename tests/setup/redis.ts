import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import { freePort } from "./free-port";

export interface RunningRedis {
  url: string;
  stop(): Promise<void>;
}

/** Starts a throwaway Debian `redis-server` on a free port, with persistence off. */
export async function startRedis(workDir: string): Promise<RunningRedis> {
  if (spawnSync("redis-server", ["--version"]).status !== 0) {
    throw new Error("redis-server is not installed: run `apt-get install redis-server` (scripts/test.sh does this when run as root).");
  }
  const port = await freePort();
  fs.mkdirSync(workDir, { recursive: true });
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", workDir, "--daemonize", "no"],
    { stdio: "ignore" },
  );
  await waitForPort(port, 10_000);
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    },
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
