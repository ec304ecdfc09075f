import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, it } from "vitest";
import { startCommand } from "../scripts/lint-dockerfile.mjs";
import { freePort } from "./setup/free-port";

/**
 * `npm start` as a person runs it, on embedded defaults: a SIGTERM to npm (what a terminal's
 * process group or a supervisor sends) must stop the server and its embedded PostgreSQL, not
 * only npm and its shell.
 */
const REPO = path.resolve(import.meta.dirname, "..");

/** Processes whose command line mentions `text` (the server's data directory). */
function processesMentioning(text: string): string[] {
  const found: string[] = [];
  for (const pid of fs.readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    const cmdline = (() => {
      try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
      } catch {
        return "";
      }
    })();
    if (cmdline.includes(text)) found.push(`${pid}: ${cmdline}`);
  }
  return found;
}

/** The environment of each `node … build/start.js` process started with DATA_DIR=`dataDir`. */
function serversWithDataDir(dataDir: string): Array<{ pid: string; environ: string[] }> {
  const found: Array<{ pid: string; environ: string[] }> = [];
  for (const pid of fs.readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    try {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      if (!cmdline.some((arg) => arg.endsWith("build/start.js"))) continue;
      const environ = fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
      if (environ.includes(`DATA_DIR=${dataDir}`)) found.push({ pid, environ });
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found;
}

it("`npm start`: an unknown URL is a 404 without a stack trace in the log; SIGTERM to npm stops the server and its PostgreSQL", async () => {
  if (!fs.existsSync(path.join(REPO, "build/start.js")))
    throw new Error("No production build: run `npm run build` before the HTTP tests (npm test does).");
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-npm-start-"));
  fs.chmodSync(dataDir, 0o755);
  const port = await freePort();
  const env = {
    // npm start sets NODE_ENV=production itself.
    NODE_ENV: "development" as const,
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "",
    PORT: String(port),
    HOST: "127.0.0.1",
    EMBEDDED_PG_PORT: String(await freePort()),
    DATA_DIR: dataDir,
    SESSION_SECRET: "npm-start-test-secret-0123456789abcdef",
    LOG_LEVEL: "warn",
  };
  const npm = spawn("npm", ["start", "--silent"], { cwd: REPO, env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  npm.stdout.on("data", (chunk) => (output += chunk));
  npm.stderr.on("data", (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => npm.once("exit", (code) => resolve(code)));
  try {
    const deadline = Date.now() + 90_000;
    while (
      !(await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (response) => response.ok,
        () => false,
      ))
    ) {
      if (npm.exitCode !== null) throw new Error(`npm start exited (code ${npm.exitCode}):\n${output}`);
      if (Date.now() > deadline) throw new Error(`npm start did not answer within 90 s:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(processesMentioning(dataDir).length, "the embedded PostgreSQL runs from the data directory").toBeGreaterThan(0);
    // The server runs with what the start script sets (decision 0026: glibc's mmap threshold).
    const servers = serversWithDataDir(dataDir);
    expect(servers.length, "one node build/start.js with this DATA_DIR").toBe(1);
    const start = startCommand(JSON.parse(fs.readFileSync(path.join(REPO, "package.json"), "utf8")).scripts.start);
    expect(start?.env.length).toBeGreaterThan(0);
    for (const [name, value] of start!.env) expect(servers[0]!.environ).toContain(`${name}=${value}`);

    for (const unknown of ["/no-such-page", "/no-such-page.data", "/files/x/y/z"]) {
      expect((await fetch(`http://127.0.0.1:${port}${unknown}`)).status, unknown).toBe(404);
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(output).not.toContain("No route matches");
    expect(output).not.toMatch(/\n\s+at /);

    npm.kill("SIGTERM");
    expect(await exited).toBe(0);
    const stopped = Date.now() + 20_000;
    while (processesMentioning(dataDir).length > 0 && Date.now() < stopped) await new Promise((resolve) => setTimeout(resolve, 200));
    expect(processesMentioning(dataDir)).toEqual([]);
    expect(
      await fetch(`http://127.0.0.1:${port}/healthz`).then(
        () => "answered",
        () => "refused",
      ),
    ).toBe("refused");
  } finally {
    for (const line of processesMentioning(dataDir)) process.kill(Number(line.split(":")[0]), "SIGKILL");
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
