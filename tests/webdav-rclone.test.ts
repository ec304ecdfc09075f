import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditActor } from "~/domain/audit/audit.server";
import { createToken } from "~/domain/tokens/tokens.server";
import { startTestApp, type TestApp } from "./support/app";
import { registerPerson, type Person } from "./support/people";

/**
 * rclone (Debian package `rclone`) syncs a small tree with nested folders, spaces and Unicode in
 * names up to /dav/ and down again; `rclone check` compares the content, and a resync after one
 * change transfers only that file.
 */

const run = promisify(execFile);
const actor: AuditActor = { actorId: null, actorLabel: "test", ip: null, userAgent: null };

function writeTree(root: string) {
  const names = ["plain", "with space", "Ünïcödé ✓", "日本語"];
  for (const [i, folder] of names.entries()) {
    const dir = path.join(root, folder, i % 2 === 0 ? "nested deeper" : "");
    fs.mkdirSync(dir, { recursive: true });
    for (let n = 0; n < 5; n++) fs.writeFileSync(path.join(dir, `file ${n} – ${folder}.txt`), `${folder} ${n}\n`.repeat(n * 100 + 1));
  }
}

describe("rclone against /dav/", () => {
  let app: TestApp;
  let ada: Person;
  let env: NodeJS.ProcessEnv;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-rclone-"));
  const up = path.join(work, "up");
  const down = path.join(work, "down");

  const rclone = async (...args: string[]) => {
    const { stdout, stderr } = await run("rclone", ["--config", path.join(work, "none.conf"), ...args], { env, timeout: 120_000 });
    return `${stdout}${stderr}`;
  };

  beforeAll(async () => {
    app = await startTestApp({ storage: "local", cache: "memory" });
    ada = await registerPerson(app, "Ada", "ada-rclone@example.com");
    const token = (
      await createToken(app.services, { id: ada.id, role: "USER" }, { name: "rclone", scopes: ["files:write"], expiresAt: null }, actor)
    ).secret;
    const { stdout: obscured } = await run("rclone", ["obscure", token]);
    env = {
      ...process.env,
      RCLONE_CONFIG_COFFER_TYPE: "webdav",
      RCLONE_CONFIG_COFFER_URL: `${app.url}/dav/`,
      RCLONE_CONFIG_COFFER_VENDOR: "other",
      RCLONE_CONFIG_COFFER_USER: ada.email,
      RCLONE_CONFIG_COFFER_PASS: obscured.trim(),
    };
    writeTree(up);
  });

  afterAll(async () => {
    await app?.close();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it("syncs a tree up and down, checks it, and resyncs only what changed", async () => {
    await rclone("sync", up, "coffer:tree");
    await rclone("check", up, "coffer:tree");
    await rclone("sync", "coffer:tree", down);
    await rclone("check", up, down);
    expect(await app.services.prisma.file.count({ where: { ownerId: ada.id, trashedAt: null } })).toBe(20);

    fs.appendFileSync(path.join(up, "with space", "file 3 – with space.txt"), "changed\n");
    const resync = await rclone("sync", up, "coffer:tree", "--stats-one-line", "-v");
    const copied = resync.split("\n").filter((line) => /: Copied \(/.test(line));
    expect(copied, resync).toHaveLength(1);
    await rclone("check", up, "coffer:tree");
    // The replaced file kept its history.
    const changed = await app.services.prisma.file.findFirstOrThrow({ where: { ownerId: ada.id, name: "file 3 – with space.txt" } });
    expect(await app.services.prisma.fileVersion.count({ where: { fileId: changed.id } })).toBe(1);
  });
});
