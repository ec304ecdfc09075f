import { spawn, spawnSync } from "node:child_process";
import { waitForPort } from "./redis";

export interface RunningHaproxy {
  /** http://127.0.0.1:<port> */
  url: string;
  stop(): Promise<void>;
}

export function haproxyInstalled(): boolean {
  return spawnSync("haproxy", ["-v"]).status === 0;
}

/**
 * Debian's HAProxy in the foreground on `configFiles` (read in order, like repeated -f), with
 * `env` for the configuration's "${VAR}" addresses; resolves once it accepts connections on
 * `port` (which the configuration binds on 127.0.0.1).
 */
export async function startHaproxy(configFiles: string[], port: number, env: Record<string, string> = {}): Promise<RunningHaproxy> {
  if (!haproxyInstalled()) throw new Error("HAProxy is not installed: apt-get install haproxy");
  const args = [...configFiles.flatMap((file) => ["-f", file]), "-db"];
  const fullEnv = { ...process.env, ...env };
  const check = spawnSync("haproxy", ["-c", "-q", ...args.slice(0, -1)], { env: fullEnv, encoding: "utf8" });
  if (check.status !== 0) throw new Error(`the HAProxy configuration is not valid:\n${check.stdout}${check.stderr}`);
  const haproxy = spawn("haproxy", args, { env: fullEnv, stdio: ["ignore", "ignore", "inherit"] });
  const exited = new Promise<void>((resolve) => haproxy.once("exit", () => resolve()));
  try {
    await Promise.race([
      waitForPort(port, 10_000),
      exited.then(() => {
        throw new Error("HAProxy exited during start-up");
      }),
    ]);
  } catch (error) {
    haproxy.kill("SIGKILL");
    throw error;
  }
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      if (haproxy.exitCode !== null || haproxy.signalCode !== null) return;
      haproxy.kill("SIGTERM");
      await exited;
    },
  };
}
