import { execFile } from "node:child_process";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { freePort } from "./free-port";

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL("../../scripts/s3-test-server.sh", import.meta.url));

export interface RunningS3 {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
  /** The server's directory (for `s3-test-server.sh quota`). */
  dataDir: string;
  stop(): Promise<void>;
}

/**
 * Starts the project's throwaway Swift + s3api server (scripts/s3-test-server.sh) on free ports.
 * Swift needs the S3 port plus three consecutive backend ports.
 */
export async function startS3(workDir: string): Promise<RunningS3> {
  for (let attempt = 1; ; attempt++) {
    const ports = await freeSwiftPorts();
    try {
      const { stdout } = await run("bash", [SCRIPT, "start", workDir], {
        env: { ...process.env, S3_PORT: String(ports.s3), SWIFT_PORT_BASE: String(ports.base) },
        // A first run may apt-get install Swift.
        timeout: 10 * 60_000,
      });
      const env = parseEnvLines(stdout);
      return {
        endpoint: env.S3_ENDPOINT!,
        accessKey: env.S3_ACCESS_KEY!,
        secretKey: env.S3_SECRET_KEY!,
        region: env.S3_REGION!,
        dataDir: workDir,
        async stop() {
          await run("bash", [SCRIPT, "stop", workDir, "--purge"], { timeout: 60_000 });
        },
      };
    } catch (error) {
      const stderr = String((error as { stderr?: unknown }).stderr ?? "");
      // Another process may have taken a port between our check and Swift's bind.
      if (attempt < 3 && stderr.includes("already in use")) continue;
      throw new Error(`Could not start the S3 test server (${SCRIPT}):\n${stderr || (error as Error).message}`);
    }
  }
}

function parseEnvLines(output: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of output.split("\n")) {
    const match = /^(S3_[A-Z_]+)=(.*)$/.exec(line.trim());
    if (match) env[match[1]!] = match[2]!;
  }
  for (const name of ["S3_ENDPOINT", "S3_ACCESS_KEY", "S3_SECRET_KEY", "S3_REGION"]) {
    if (!env[name]) throw new Error(`s3-test-server.sh did not print ${name}; it printed:\n${output}`);
  }
  return env;
}

async function freeSwiftPorts(): Promise<{ s3: number; base: number }> {
  const s3 = await freePort();
  for (let tries = 0; tries < 50; tries++) {
    const base = await freePort();
    const range = [base, base + 1, base + 2];
    if (base + 2 > 65535 || range.includes(s3)) continue;
    if ((await Promise.all(range.map(isFree))).every(Boolean)) return { s3, base };
  }
  throw new Error("Found no three consecutive free ports for Swift");
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}
