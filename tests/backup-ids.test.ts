import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "~/config.server";
import { runBackup } from "~/domain/backup/backup.server";
import { findManifest, listBackupIds } from "~/domain/backup/catalog.server";
import { pruneBackups } from "~/domain/backup/prune.server";
import { getRootFolder } from "~/domain/files/folders.server";
import { createBackupTarget } from "~/services/backup/target.server";
import { closeServices, createServices, type Services } from "~/services/index.server";
import { createLogger } from "~/services/logger.server";
import type { ObjectStore } from "~/services/storage/types";
import { newBackupKey } from "./support/backups";
import { createTestDatabase } from "./support/database";
import { putFile } from "./support/people";

const ROOT = path.resolve(import.meta.dirname, "..");

function runCli(env: Record<string, string>, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, "bin/coffer.mjs"), ...args],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH, ...env } as unknown as NodeJS.ProcessEnv,
        timeout: 120_000,
      },
      (error, stdout, stderr) =>
        resolve({
          code: error ? ((error as { code?: number }).code ?? -1) : 0,
          stdout,
          stderr,
        }),
    );
  });
}

describe("backups started within one second", () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-backup-ids-"));
  let env: Record<string, string>;
  let services: Services;
  let target: ObjectStore;

  beforeAll(async () => {
    env = {
      NODE_ENV: "production",
      LOG_LEVEL: "error",
      DATA_DIR: path.join(work, "data"),
      DATABASE_URL: (await createTestDatabase()).url,
      SESSION_SECRET: "test-secret-that-is-at-least-32-characters-long",
      BACKUP_DIR: path.join(work, "backup"),
      BACKUP_KEY: newBackupKey(),
      BACKUP_KEEP_DAILY: "1",
      BACKUP_KEEP_WEEKLY: "0",
      BACKUP_KEEP_MONTHLY: "0",
    };
    services = await createServices(loadConfig(env), createLogger("error"));
    target = await createBackupTarget(services.config.backup!.target);
    await target.init();
  });
  afterAll(async () => {
    await closeServices(services).catch(() => {});
    fs.rmSync(work, { recursive: true, force: true });
  });

  it("are listed in the order they ran; latest is the last one, and retention keeps it", async () => {
    const user = await services.prisma.user.create({
      data: { email: "ida@example.com", name: "Ida", passwordHash: "x" },
    });
    const root = (await getRootFolder(services, user.id)).id;
    const second = Math.floor(Date.now() / 1000) * 1000;
    // Three runs in one second, the last two in the same millisecond; each sees one file more.
    const ids: string[] = [];
    for (const [n, at] of [100, 200, 200].entries()) {
      await putFile(services, user.id, root, `file-${n}.txt`, Buffer.from(`contents ${n}`));
      ids.push(
        (
          await runBackup(services, {
            target,
            now: () => new Date(second + at),
          })
        ).manifest.id,
      );
    }
    expect(new Set(ids).size).toBe(3);
    expect(await listBackupIds(target)).toEqual(ids);
    const latest = await findManifest(target, services.config.backup!.key);
    expect(latest.id).toBe(ids[2]);
    expect(latest.counts.files).toBe(3);

    const verified = await runCli(env, ["verify", "--backup", "latest", "--json"]);
    expect(verified.stderr).toBe("");
    expect(verified.code).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({ id: ids[2], ok: true });

    const pruned = await pruneBackups(services);
    expect(pruned.kept).toEqual([ids[2]]);
    expect(pruned.pruned).toEqual([ids[1], ids[0]]);
    expect(await listBackupIds(target)).toEqual([ids[2]]);
  });
});
