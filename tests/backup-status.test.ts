import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "~/config.server";
import { listBackupIds } from "~/domain/backup/catalog.server";
import { createBackupTarget } from "~/services/backup/target.server";
import { startTestApp, type TestApp } from "./support/app";
import { backupTargetEnv } from "./support/backups";
import { putFile, registerPerson, type Person } from "./support/people";

const TOKEN = "backup-metrics-token-0123456789";

/** React puts <!-- --> between adjacent text parts; tags and spacing are dropped to read the text. */
function textOf(html: string, testId: string): string {
  const start = html.indexOf(`data-testid="${testId}"`);
  if (start < 0) return "";
  const open = html.indexOf(">", start) + 1;
  const tag = html.lastIndexOf("<", start);
  const name = /^<(\w+)/.exec(html.slice(tag))![1];
  const end = html.indexOf(`</${name}>`, open);
  return html
    .slice(open, end)
    .replace(/<!-- -->/g, "")
    .replace(/<[^>]+>/g, "")
    .replace(/\s+/g, " ")
    .trim();
}

async function page(person: Person, path: string): Promise<string> {
  const response = await person.client.get(path);
  expect(response.status).toBe(200);
  return response.text();
}

async function scrape(app: TestApp): Promise<string> {
  const response = await fetch(`${app.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(response.status).toBe(200);
  return response.text();
}

const sample = (text: string, series: string) => {
  const match = new RegExp(`^${series.replace(/[{}"=]/g, (c) => `\\${c}`)} (\\S+)$`, "m").exec(text);
  return match ? Number(match[1]) : undefined;
};

describe("backups, not configured", () => {
  let app: TestApp;
  let admin: Person;

  beforeAll(async () => {
    app = await startTestApp({ storage: "local", cache: "memory" }, { METRICS_TOKEN: TOKEN });
    admin = await registerPerson(app, "Ada Admin", "ada@example.com");
  });
  afterAll(() => app?.close());

  it("says on /admin/system and /admin that backups are off and how to turn them on", async () => {
    const system = await page(admin, "/admin/system");
    const off = textOf(system, "backups-off");
    expect(off).toContain("Backups are off:");
    expect(off).toContain("BACKUP_DIR");
    expect(off).toContain("BACKUP_KEY");
    expect(off).toContain("docs/backups.md");
    expect(textOf(await page(admin, "/admin"), "backup-status")).toBe("Backups are off: no backup target is set. Backups");
  });

  it("exports coffer_backup_configured 0 and no backup times, and schedules no backup job", async () => {
    const text = await scrape(app);
    expect(sample(text, "coffer_backup_configured")).toBe(0);
    expect(text).toContain("# TYPE coffer_backup_last_success_timestamp_seconds gauge");
    expect(sample(text, "coffer_backup_last_success_timestamp_seconds")).toBeUndefined();
    expect(sample(text, 'coffer_backup_runs{kind="backup",outcome="success"}')).toBe(0);
    await expect.poll(() => app.services.jobs, { timeout: 30_000 }).toBeDefined();
    expect(app.services.jobs!.queues().map((q) => q.name)).not.toContain("backup");
  });
});

describe("backups to a directory, run by the scheduled job", () => {
  let app: TestApp;
  let admin: Person;

  beforeAll(async () => {
    app = await startTestApp(
      { storage: "local", cache: "memory" },
      { METRICS_TOKEN: TOKEN, BACKUP_SCHEDULE: "15 2 * * *", BACKUP_VERIFY_SCHEDULE: "off", ...backupTargetEnv("directory") },
    );
    admin = await registerPerson(app, "Ada Admin", "ada@example.com");
    const root = await app.services.prisma.folder.findFirstOrThrow({ where: { ownerId: admin.id, parentId: null } });
    await putFile(app.services, admin.id, root.id, "notes.txt", Buffer.from("hello backups"));
  });
  afterAll(() => app?.close());

  it("shows the empty state and the next run before the first backup", async () => {
    const system = await page(admin, "/admin/system");
    expect(textOf(system, "backup-last")).toContain("None yet");
    const next = new Date();
    next.setUTCHours(2, 15, 0, 0);
    if (next.getTime() <= Date.now()) next.setUTCDate(next.getUTCDate() + 1);
    const day = next.toLocaleDateString("en-GB", { dateStyle: "medium", timeZone: "UTC" });
    expect(textOf(system, "backup-next")).toBe(`${day}, 02:15 UTC (15 2 * * * UTC)`);
    expect(textOf(system, "backup-verify-next")).toBe("Off (BACKUP_VERIFY_SCHEDULE=off)");
    expect(textOf(await page(admin, "/admin"), "backup-status")).toBe("No backup has run yet. Backups");
  });

  it("runs the backup job (then prune), records both, and shows the result on /admin", async () => {
    await expect.poll(() => app.services.jobs, { timeout: 30_000 }).toBeDefined();
    const queue = app.services.jobs!.queues().find((q) => q.name === "backup");
    expect(queue).toMatchObject({ cron: "15 2 * * *", expireInSeconds: 72_000 });
    expect(app.services.jobs!.queues().map((q) => q.name)).not.toContain("backup-verify");
    expect(await app.services.jobs!.send("backup")).not.toBeNull();
    await expect
      .poll(() => app.services.prisma.backupRun.count({ where: { kind: "prune", status: "succeeded" } }), { timeout: 60_000 })
      .toBe(1);
    const run = await app.services.prisma.backupRun.findFirstOrThrow({ where: { kind: "backup" } });
    expect(run).toMatchObject({ status: "succeeded", error: null, objectsCopied: 1 });
    const config = loadConfig(app.env).backup!;
    expect(await listBackupIds(await createBackupTarget(config.target))).toEqual([run.backupId]);

    const system = await page(admin, "/admin/system");
    const last = textOf(system, "backup-last");
    expect(last).toContain("Succeeded");
    expect(last).toContain(`id ${run.backupId}`);
    expect(last).toContain("(1 new object)");
    expect(last).toMatch(/· [\d.]+ KiB written in \d+ s/);
    expect(textOf(system, "backup-retention")).toBe("7 daily, 4 weekly, 6 monthly · 1 backup kept after the last prune");
    expect(textOf(await page(admin, "/admin"), "backup-status")).toMatch(/^Last backup .* UTC: succeeded, [\d.]+ KiB\. Backups$/);
  }, 120_000);

  it("shows a failed verification with what was wrong, and an interrupted backup beside the last good one", async () => {
    const { prisma } = app.services;
    const good = await prisma.backupRun.findFirstOrThrow({ where: { kind: "backup", status: "succeeded" } });
    await prisma.backupRun.create({
      data: {
        kind: "verify",
        status: "failed",
        finishedAt: new Date(),
        backupId: good.backupId,
        error: `backup-${good.backupId}-db-files: segment 2 does not authenticate (corrupt)`,
      },
    });
    // A later backup whose process died: still 'running' in the table, its heartbeat 10 minutes old.
    await prisma.backupRun.create({ data: { kind: "backup", startedAt: new Date(), heartbeatAt: new Date(Date.now() - 10 * 60_000) } });

    const system = await page(admin, "/admin/system");
    expect(textOf(system, "backup-verify-last")).toContain(
      `Failed: backup-${good.backupId}-db-files: segment 2 does not authenticate (corrupt)`,
    );
    expect(textOf(system, "backup-last")).toContain("Interrupted (the process running it stopped)");
    expect(textOf(system, "backup-last-good")).toContain(`id ${good.backupId}`);
    expect(textOf(await page(admin, "/admin"), "backup-status")).toMatch(
      /^Last backup .* UTC: interrupted \(the process running it stopped\); the last good one is from .* UTC\. Backups$/,
    );
    // Never a secret: the key and the target's credentials stay out of the page.
    expect(system).not.toContain(app.env.BACKUP_KEY);
  });

  it("exports the backup metrics from backup_runs", async () => {
    const text = await scrape(app);
    const good = await app.services.prisma.backupRun.findFirstOrThrow({ where: { kind: "backup", status: "succeeded" } });
    expect(sample(text, "coffer_backup_configured")).toBe(1);
    expect(sample(text, "coffer_backup_last_success_timestamp_seconds")).toBe(good.finishedAt!.getTime() / 1000);
    expect(sample(text, "coffer_backup_last_size_bytes")).toBe(Number(good.bytes));
    expect(Number(good.bytes)).toBeGreaterThan(0);
    expect(sample(text, "coffer_backup_last_duration_seconds")).toBe((good.finishedAt!.getTime() - good.startedAt.getTime()) / 1000);
    expect(sample(text, 'coffer_backup_runs{kind="backup",outcome="success"}')).toBe(1);
    expect(sample(text, 'coffer_backup_runs{kind="verify",outcome="failure"}')).toBe(1);
    expect(sample(text, 'coffer_backup_runs{kind="prune",outcome="success"}')).toBe(1);
    expect(sample(text, 'coffer_backup_last_run_success{kind="backup"}')).toBe(1);
    expect(sample(text, 'coffer_backup_last_run_success{kind="verify"}')).toBe(0);
    expect(sample(text, "coffer_backup_verify_last_success_timestamp_seconds")).toBeUndefined();
    expect(sample(text, "coffer_backups_retained")).toBe(1);
  });
});

describe("scheduled verification of backups on a second S3 bucket", () => {
  let app: TestApp;
  let admin: Person;

  beforeAll(async () => {
    app = await startTestApp({ storage: "s3", cache: "memory" }, { BACKUP_VERIFY_SCHEDULE: "45 4 * * 0", ...backupTargetEnv("s3") });
    admin = await registerPerson(app, "Ada Admin", "ada@example.com");
    const root = await app.services.prisma.folder.findFirstOrThrow({ where: { ownerId: admin.id, parentId: null } });
    await putFile(app.services, admin.id, root.id, "notes.txt", Buffer.from("verify me"));
  });
  afterAll(() => app?.close());

  const runs = (kind: string) => app.services.prisma.backupRun.findMany({ where: { kind }, orderBy: { startedAt: "asc" } });

  it("records a passing verification, then a failing one naming the damaged file, and fails the job for good", async () => {
    await expect.poll(() => app.services.jobs, { timeout: 30_000 }).toBeDefined();
    expect(app.services.jobs!.queues().find((q) => q.name === "backup-verify")).toMatchObject({ cron: "45 4 * * 0" });
    await app.services.jobs!.send("backup");
    await expect.poll(async () => (await runs("backup")).map((r) => r.status), { timeout: 60_000 }).toEqual(["succeeded"]);
    const [backup] = await runs("backup");

    await app.services.jobs!.send("backup-verify");
    await expect.poll(async () => (await runs("verify")).map((r) => r.status), { timeout: 120_000 }).toEqual(["succeeded"]);
    expect((await runs("verify"))[0]).toMatchObject({ backupId: backup!.backupId, error: null });
    expect(textOf(await page(admin, "/admin/system"), "backup-verify-last")).toContain(
      `Succeeded · backup ${backup!.backupId} restored and matched its manifest`,
    );

    // One flipped byte in the files table's dump.
    const config = loadConfig(app.env).backup!;
    const target = await createBackupTarget(config.target);
    const damaged = `backup-${backup!.backupId}-db-files`;
    const chunks: Buffer[] = [];
    for await (const chunk of await target.get(damaged)) chunks.push(chunk as Buffer);
    const bytes = Buffer.concat(chunks);
    bytes[bytes.length - 3] ^= 0x01;
    const { Readable } = await import("node:stream");
    await target.put(damaged, Readable.from([bytes]));

    await app.services.jobs!.send("backup-verify");
    await expect.poll(async () => (await runs("verify")).map((r) => r.status), { timeout: 120_000 }).toEqual(["succeeded", "failed"]);
    const failed = (await runs("verify"))[1]!;
    expect(failed.error).toContain(damaged);
    expect(textOf(await page(admin, "/admin/system"), "backup-verify-last")).toContain(`Failed: ${damaged}`);
    // Failed for good at once (no retries): the failure is listed on /admin/jobs.
    await expect
      .poll(async () => (await app.services.jobs!.states(["backup-verify"]))[0]!.failed.map((f) => f.message), { timeout: 30_000 })
      .toEqual([expect.stringContaining(`failed verification: ${damaged}`)]);
    expect(await runs("verify")).toHaveLength(2);
  }, 300_000);
});
