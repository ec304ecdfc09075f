import { execFile } from "node:child_process";
import path from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "~/config.server";
import { BackupRunningError, pruneBackups } from "~/domain/backup/prune.server";
import { INTERRUPTED } from "~/domain/backup/runs.server";
import { createBackupTarget } from "~/services/backup/target.server";
import { closeServices, createServices, type Services } from "~/services/index.server";
import { createLogger } from "~/services/logger.server";
import type { ObjectStore } from "~/services/storage/types";
import { backupTargetEnv, targetKeys, writeFakeBackup } from "./support/backups";
import { createTestDatabase } from "./support/database";

const ROOT = path.resolve(import.meta.dirname, "..");
const DAY = 86_400_000;

function runCli(env: Record<string, string>, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, "bin/coffer.mjs"), ...args],
      { cwd: ROOT, env: { PATH: process.env.PATH, ...env } as unknown as NodeJS.ProcessEnv, timeout: 120_000 },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    );
  });
}

describe.each(["directory", "s3"] as const)("backup retention on a %s target", (kind) => {
  let services: Services;
  let env: Record<string, string>;
  let target: ObjectStore;
  let key: Buffer;
  const now = Date.now();

  beforeAll(async () => {
    const { mkdtempSync } = await import("node:fs");
    const os = await import("node:os");
    env = {
      NODE_ENV: "production",
      LOG_LEVEL: "error",
      DATA_DIR: mkdtempSync(path.join(os.tmpdir(), "coffer-prune-data-")),
      DATABASE_URL: (await createTestDatabase()).url,
      SESSION_SECRET: "test-secret-that-is-at-least-32-characters-long",
      BACKUP_KEEP_DAILY: "2",
      BACKUP_KEEP_WEEKLY: "0",
      BACKUP_KEEP_MONTHLY: "0",
      ...backupTargetEnv(kind),
    };
    const config = loadConfig(env);
    services = await createServices(config, createLogger("error"));
    key = config.backup!.key;
    target = await createBackupTarget(config.backup!.target);
    await target.init();
  });
  afterAll(async () => {
    if (services) await closeServices(services);
  });

  const put = (name: string) => target.put(name, Readable.from([Buffer.from(`bytes of ${name}`)]));

  it("keeps what retention chooses, and objects a point-in-time restore inside the window may need", async () => {
    // Five daily backups ending yesterday; every object is written now (after all of them started).
    for (const name of ["object-shared", "object-only-first", "object-unlisted"]) await put(name);
    for (const name of ["wal-000000010000000000000001", "wal-000000010000000000000009", "wal-00000002.history"]) await put(name);
    const ids: string[] = [];
    for (let daysAgo = 5; daysAgo >= 1; daysAgo--) {
      const objects = daysAgo === 5 ? ["shared", "only-first"] : ["shared"];
      ids.push(
        await writeFakeBackup(target, key, { startedAt: new Date(now - daysAgo * DAY), objects, physical: { startLsn: "0/5000028" } }),
      );
    }
    const before = await targetKeys(target);

    const report = await pruneBackups(services);
    expect(report.kept).toEqual([ids[4], ids[3]]);
    expect(report.pruned).toEqual([ids[2], ids[1], ids[0]]);
    // Objects and WAL written after the oldest kept backup started stay: a restore to a time
    // inside the window needs them.
    expect(report).toMatchObject({ dryRun: false, backupFiles: 9, objects: 0, wal: 0 });
    const after = await targetKeys(target);
    expect(after).toEqual(before.filter((k) => !ids.slice(0, 3).some((id) => k.startsWith(`backup-${id}-`))));
    for (const id of ids.slice(3)) expect(after).toContain(`backup-${id}-manifest`);

    const run = await services.prisma.backupRun.findFirstOrThrow({ where: { kind: "prune" } });
    expect(run).toMatchObject({ status: "succeeded", backupsRetained: 2, error: null });
    expect(Number(run.bytes)).toBe(report.bytes);
    expect(run.bytes! > 0n).toBe(true);
    const audit = await services.prisma.auditEvent.findFirstOrThrow({ where: { action: "backup.pruned" } });
    expect(audit.actorLabel).toBe("system");
    expect((audit.details as { backups: string[] }).backups).toEqual(report.pruned);
  });

  it("deletes unlisted objects and WAL written before the oldest kept backup, after a dry run that deletes nothing", async () => {
    // WAL of two clusters: one no kept base backup belongs to (the one before a logical restore),
    // and the cluster of the kept base backup.
    const [gone, current] = ["7581234567890123456", "7581234567890999999"];
    for (const name of [
      `wal-${gone}-000000010000000000000001`,
      `wal-${current}-000000010000000000000002`,
      `wal-${current}-000000010000000000000009`,
    ])
      await put(name);
    // Two newer backups (started after every object and WAL segment above was written) listing
    // only the shared object; the one before them starts its base backup at LSN 0/5000028.
    const newer = [
      await writeFakeBackup(target, key, {
        startedAt: new Date(now + 2 * DAY),
        objects: ["shared"],
        physical: { startLsn: "0/5000028", systemId: current },
      }),
      await writeFakeBackup(target, key, { startedAt: new Date(now + 3 * DAY), objects: ["shared"] }),
    ];
    const before = await targetKeys(target);

    const dry = await runCli(env, ["prune", "--dry-run"]);
    expect(dry.stderr).toBe("");
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain("Would delete 2 backup(s)");
    expect(dry.stdout).toContain("2 object(s) and 3 WAL segment(s)");
    expect(dry.stdout).toContain("Dry run: nothing was deleted.");
    expect(await targetKeys(target)).toEqual(before);

    const real = await runCli(env, ["prune", "--json"]);
    expect(real.code).toBe(0);
    const report = JSON.parse(real.stdout) as { kept: string[]; objects: number; wal: number };
    expect(report.kept).toEqual([newer[1], newer[0]]);
    expect(report).toMatchObject({ objects: 2, wal: 3 });
    const after = await targetKeys(target);
    expect(after.filter((k) => !k.startsWith("backup-"))).toEqual([
      "object-shared",
      // Segment 9 is at or after the base backup's start (segment 5); history files always stay.
      "wal-000000010000000000000009",
      "wal-00000002.history",
      `wal-${current}-000000010000000000000009`,
    ]);
    expect(after.filter((k) => k.endsWith("-manifest"))).toEqual(newer.map((id) => `backup-${id}-manifest`).sort());
    const audit = await services.prisma.auditEvent.findFirstOrThrow({
      where: { action: "backup.pruned", actorLabel: "operator (coffer prune)" },
    });
    expect(audit.details).toMatchObject({ objects: 2, wal: 3 });
  }, 180_000);

  it("never prunes while a backup is running, and takes a silent run for a dead one", async () => {
    await writeFakeBackup(target, key, { startedAt: new Date(now + 4 * DAY) });
    const before = await targetKeys(target);
    const running = await services.prisma.backupRun.create({ data: { kind: "backup" } });

    await expect(pruneBackups(services)).rejects.toBeInstanceOf(BackupRunningError);
    const cli = await runCli(env, ["prune"]);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain("A backup is running: nothing was pruned.");
    expect(await targetKeys(target)).toEqual(before);

    // Its heartbeat stopped 10 minutes ago: the process died. The next prune goes ahead.
    await services.prisma.backupRun.update({ where: { id: running.id }, data: { heartbeatAt: new Date(Date.now() - 10 * 60_000) } });
    const report = await pruneBackups(services);
    expect(report.pruned).toHaveLength(1);
    expect(await services.prisma.backupRun.findUniqueOrThrow({ where: { id: running.id } })).toMatchObject({
      status: "failed",
      error: INTERRUPTED,
    });
  }, 180_000);

  it("fails on a corrupt manifest, deleting nothing and recording why", async () => {
    const keys = await targetKeys(target);
    const manifest = keys.find((k) => k.endsWith("-manifest"))!;
    const sealed: Buffer[] = [];
    for await (const chunk of await target.get(manifest)) sealed.push(chunk as Buffer);
    const flipped = Buffer.concat(sealed);
    flipped[flipped.length - 5] ^= 0x01;
    await target.put(manifest, Readable.from([flipped]));
    await writeFakeBackup(target, key, { startedAt: new Date(now + 5 * DAY) });
    const before = await targetKeys(target);

    await expect(pruneBackups(services)).rejects.toThrow(manifest);
    expect(await targetKeys(target)).toEqual(before);
    const run = await services.prisma.backupRun.findFirstOrThrow({ where: { kind: "prune" }, orderBy: { startedAt: "desc" } });
    expect(run.status).toBe("failed");
    expect(run.error).toContain(manifest);
  });

  it("refuses unknown flags with a usage error", async () => {
    const result = await runCli(env, ["prune", "--dryrun"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("Usage: coffer prune [--dry-run] [--json]");
  });
});
