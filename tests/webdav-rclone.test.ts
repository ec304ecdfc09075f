import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditActor } from "~/domain/audit/audit.server";
import { createToken } from "~/domain/tokens/tokens.server";
import { startTestApp, type TestApp } from "./support/app";
import { DRIVER_SETS, registerPerson, type Person } from "./support/people";

/**
 * rclone (Debian package `rclone`) syncs a tree of files in nested folders, with spaces and
 * Unicode in names, up to /dav/ and down again on both driver sets; `rclone check` compares the
 * names and sizes on the server and the bytes of what came back down, and a resync after a few
 * changes transfers only those. Each phase's time is printed.
 * The tree has 1,000 files on local disk and 200 on S3: what many files exercise (the WebDAV
 * layer, the database) is the same on both, and Swift's S3 API took over two minutes for 1,000.
 */

const run = promisify(execFile);
const actor: AuditActor = { actorId: null, actorLabel: "test", ip: null, userAgent: null };
const FOLDERS = [
  "plain",
  "with space",
  "Ünïcödé ✓",
  "日本語",
  "emoji 🎉",
  "Ελληνικά",
  "dash – and more",
  "dots.in.name",
  "Ørsted",
  "ç façade",
];
const SUBFOLDERS = ["a", "b b", "ü/deeper", "nested/two/levels"];
const FILES_PER_FOLDER = { local: 25, s3: 5 } as const;

function writeTree(root: string, filesPerFolder: number) {
  for (const folder of FOLDERS) {
    for (const sub of SUBFOLDERS) {
      const dir = path.join(root, folder, ...sub.split("/"));
      fs.mkdirSync(dir, { recursive: true });
      for (let n = 0; n < filesPerFolder; n++) {
        fs.writeFileSync(path.join(dir, `file ${n} – ${folder}.txt`), `${folder}/${sub} ${n}\n`.repeat(n * 3 + 1));
      }
    }
  }
}

describe.each(DRIVER_SETS)("rclone against /dav/ on $label", ({ drivers }) => {
  const filesPerFolder = FILES_PER_FOLDER[drivers.storage];
  const TOTAL = FOLDERS.length * SUBFOLDERS.length * filesPerFolder;
  let app: TestApp;
  let ada: Person;
  let env: NodeJS.ProcessEnv;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-rclone-"));
  const up = path.join(work, "up");
  const down = path.join(work, "down");

  const rclone = async (...args: string[]) => {
    const { stdout, stderr } = await run("rclone", ["--config", path.join(work, "none.conf"), ...args], {
      env,
      timeout: 300_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return `${stdout}${stderr}`;
  };
  const timings: string[] = [];
  const timed = async <T>(label: string, step: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    const result = await step();
    timings.push(`${label} ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return result;
  };

  beforeAll(async () => {
    app = await startTestApp(drivers);
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
    writeTree(up, filesPerFolder);
  });

  afterAll(async () => {
    console.log(`rclone, ${TOTAL} files (${drivers.storage}, ${drivers.cache}): ${timings.join(", ")}`);
    await app?.close();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it(`syncs ${TOTAL} files up and down, checks them, and resyncs only what changed`, { timeout: 600_000 }, async () => {
    const live = () => app.services.prisma.file.count({ where: { ownerId: ada.id, trashedAt: null } });
    await timed("sync up", () => rclone("sync", up, "coffer:tree"));
    expect(await live()).toBe(TOTAL);
    await timed("check up", () => rclone("check", up, "coffer:tree"));
    await timed("sync down", () => rclone("sync", "coffer:tree", down));
    // Local against local: rclone compares the bytes' hashes, so this checks the content that went up and came back.
    await rclone("check", up, down);

    // Three files changed, two added, one deleted: only those travel.
    for (const folder of FOLDERS.slice(0, 3)) fs.appendFileSync(path.join(up, folder, "a", `file 3 – ${folder}.txt`), "changed\n");
    fs.writeFileSync(path.join(up, "with space", "b b", "new one.txt"), "new\n");
    fs.writeFileSync(path.join(up, "日本語", "nested", "two", "levels", "新しい.txt"), "新しい\n");
    fs.rmSync(path.join(up, "Ørsted", "a", "file 0 – Ørsted.txt"));
    const resync = await timed("resync", () => rclone("sync", up, "coffer:tree", "-v"));
    const copied = resync.split("\n").filter((line) => /: Copied \(/.test(line));
    const deleted = resync.split("\n").filter((line) => /: Deleted$/.test(line));
    expect(copied, resync).toHaveLength(5);
    expect(deleted, resync).toHaveLength(1);
    await rclone("check", up, "coffer:tree");
    expect(await live()).toBe(TOTAL + 1);
    // A replaced file kept its history; the deleted one is in the trash.
    const changed = await app.services.prisma.file.findFirstOrThrow({
      where: { ownerId: ada.id, name: "file 3 – plain.txt", trashedAt: null, folder: { name: "a" } },
    });
    expect(await app.services.prisma.fileVersion.count({ where: { fileId: changed.id } })).toBe(1);
    expect(
      await app.services.prisma.file.count({ where: { ownerId: ada.id, name: "file 0 – Ørsted.txt", trashedAt: { not: null } } }),
    ).toBe(1);

    // Down again: only the changes come back.
    const downAgain = await timed("resync down", () => rclone("sync", "coffer:tree", down, "-v"));
    expect(
      downAgain.split("\n").filter((line) => /: Copied \(/.test(line)),
      downAgain,
    ).toHaveLength(5);
    await rclone("check", up, down);
  });
});
