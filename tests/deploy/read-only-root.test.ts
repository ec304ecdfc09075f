// The pod of deploy/k8s runs with `readOnlyRootFilesystem: true` and writable emptyDirs on /tmp
// and /data only. Here the production build runs the same way: in a mount namespace of its own
// (unshare, as root) where every filesystem is remounted read-only and fresh tmpfs mounts stand for
// the two emptyDirs. It must start, be ready, and take an upload. Needs `npm run build`.
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, expect, it } from "vitest";
import { freePort } from "../setup/free-port";
import { TestClient } from "../support/client";
import { createTestDatabase } from "../support/database";

const REPO = path.resolve(import.meta.dirname, "../..");
fs.mkdirSync(path.join(REPO, ".tmp"), { recursive: true });
const DATA_DIR = fs.mkdtempSync(path.join(REPO, ".tmp/read-only-data-"));
// Inside the namespace the checkout is bound at /mnt, as the image has the app outside /tmp: a
// checkout under /tmp (CI clones there) would vanish under the fresh /tmp.
const APP = "/mnt";
const SANDBOX_DATA_DIR = path.join(APP, path.relative(REPO, DATA_DIR));

// Every mount read-only but the kernel's own (/proc, /sys, /dev); then the app at /mnt, read-only
// too; then the two emptyDirs.
const SANDBOX = `
set -eu
awk '{ print $2 }' /proc/self/mounts | grep -Ev '^/(proc|sys|dev)(/|$)' | sort -u | while read -r mount; do
  mount -o remount,bind,ro "$mount"
done
touch /coffer-read-only-probe 2>/dev/null && { echo "the root filesystem is still writable" >&2; exit 97; }
mount --rbind "$REPO" ${APP}
mount -o remount,bind,ro ${APP}
mount -t tmpfs -o size=256m tmpfs /tmp
mount -t tmpfs -o size=256m tmpfs "$DATA_DIR"
cd ${APP}
exec node build/start.js
`;

let child: ChildProcess | undefined;
afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child!.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
  }
  fs.rmSync(DATA_DIR, { recursive: true, force: true });
});

it("serves and stores uploads with a read-only root filesystem and writable /tmp and DATA_DIR", async () => {
  if (!fs.existsSync(path.join(REPO, "build/start.js"))) throw new Error("No production build: run `npm run build` first.");
  const { url: databaseUrl } = await createTestDatabase();
  const port = await freePort();
  child = spawn("unshare", ["--mount", "--propagation", "private", "bash", "-c", SANDBOX], {
    cwd: REPO,
    env: {
      PATH: process.env.PATH ?? "",
      NODE_ENV: "production",
      HOST: "127.0.0.1",
      PORT: String(port),
      REPO,
      DATA_DIR: SANDBOX_DATA_DIR,
      DATABASE_URL: databaseUrl,
      SESSION_SECRET: "read-only-root-test-secret-0123456789abcdef",
      LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited (code ${child.exitCode}):\n${output}`);
    if (Date.now() > deadline) throw new Error(`no answer within 90 s:\n${output}`);
    const ready = await fetch(`${base}/readyz`).then(
      (response) => response.status === 200,
      () => false,
    );
    if (ready) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }

  const client = new TestClient(base);
  await client.register("Reader", "reader@example.com");
  const content = Buffer.from("stored on a read-only root\n".repeat(1000));
  const created = await client.request("/api/uploads", {
    method: "POST",
    headers: {
      "Tus-Resumable": "1.0.0",
      "Upload-Length": String(content.length),
      "Upload-Metadata": `filename ${Buffer.from("notes.txt").toString("base64")}`,
    },
  });
  expect(created.status, await created.clone().text()).toBe(201);
  const patched = await client.request(new URL(created.headers.get("location")!, base).pathname, {
    method: "PATCH",
    headers: { "Tus-Resumable": "1.0.0", "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream" },
    body: content,
  });
  expect(patched.status, await patched.clone().text()).toBe(204);
  expect(patched.headers.get("upload-offset")).toBe(String(content.length));
  const files = await client.request("/files");
  expect(await files.text()).toContain("notes.txt");
  expect(output).not.toMatch(/EROFS|read-only file system/i);
});
