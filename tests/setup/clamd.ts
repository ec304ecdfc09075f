import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { freePort } from "./free-port";
import { waitForPort } from "./redis";

/** The EICAR anti-virus test file: harmless, and every scanner reports it. */
export const EICAR = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
/** The name the tests' own signature database gives it (clamd adds ".UNOFFICIAL"). */
export const EICAR_SIGNATURE = "Coffer.Test.EICAR";

export interface RunningClamd {
  host: string;
  port: number;
  /** clamd's StreamMaxLength: a longer INSTREAM is refused. */
  streamMaxBytes: number;
  stop(): Promise<void>;
}

/**
 * Starts Debian's clamd on a free port with a signature database of one body signature, EICAR's
 * bytes anywhere in a file (ClamAV's own databases cannot be downloaded here). clamd still opens
 * archives, so EICAR inside a ZIP is found too.
 */
export async function startClamd(workDir: string, streamMaxBytes = 32 * 1024 * 1024): Promise<RunningClamd> {
  if (spawnSync("clamd", ["--version"]).status !== 0) {
    throw new Error(
      "clamd is not installed: run `apt-get install clamav-daemon` (scripts/ensure-test-packages.sh does this when run as root).",
    );
  }
  const port = await freePort();
  const db = path.join(workDir, "db");
  fs.mkdirSync(db, { recursive: true });
  fs.writeFileSync(path.join(db, "coffer-test.ndb"), `${EICAR_SIGNATURE}:0:*:${Buffer.from(EICAR).toString("hex")}\n`);
  const conf = path.join(workDir, "clamd.conf");
  fs.writeFileSync(
    conf,
    [
      `DatabaseDirectory ${db}`,
      `TCPSocket ${port}`,
      "TCPAddr 127.0.0.1",
      "Foreground yes",
      `LogFile ${path.join(workDir, "clamd.log")}`,
      `StreamMaxLength ${streamMaxBytes}`,
      "SelfCheck 0",
      "",
    ].join("\n"),
  );
  const child = spawn("clamd", ["-c", conf], { stdio: "ignore" });
  await waitForPort(port, 60_000);
  return {
    host: "127.0.0.1",
    port,
    streamMaxBytes,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    },
  };
}
