import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  checkStorage,
  parseQuarantineKey,
  QUARANTINE_GRACE_MS,
  type StorageCheckReport,
} from "~/domain/storage-check/storage-check.server";
import { isEncryptedStore } from "~/services/storage/encrypted.server";
import type { ObjectStore } from "~/services/storage/types";
import { startTestApp, type DriverSet, type TestApp } from "./support/app";
import { TestClient } from "./support/client";

const HOUR = 60 * 60 * 1000;
const ROOT = path.resolve(import.meta.dirname, "..");
const MASTER_KEY = randomBytes(32).toString("base64");
const METRICS_TOKEN = "metrics-token-for-tests-0123456789";

/** The store under encryption at rest: bytes exactly as stored. */
function rawStore(app: TestApp): ObjectStore {
  return isEncryptedStore(app.services.storage) ? app.services.storage.inner : app.services.storage;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function allKeys(app: TestApp): Promise<string[]> {
  const keys: string[] = [];
  for await (const info of rawStore(app).list()) keys.push(info.key);
  return keys.sort();
}

/** The problems as `kind key` lines, sorted. */
function found(report: StorageCheckReport): string[] {
  return report.listed.map((p) => `${p.kind} ${p.key}`).sort();
}

function runCli(app: TestApp, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, "bin/coffer.mjs"), ...args],
      { cwd: ROOT, env: { PATH: process.env.PATH, ...app.env } as unknown as NodeJS.ProcessEnv, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    );
  });
}

describe.each<{ label: string; drivers: DriverSet; env: Record<string, string> }>([
  { label: "local disk", drivers: { storage: "local", cache: "memory" }, env: {} },
  { label: "S3, encrypted at rest", drivers: { storage: "s3", cache: "redis" }, env: { ENCRYPTION_MASTER_KEY: MASTER_KEY } },
])("storage check ($label)", ({ drivers, env }) => {
  let app: TestApp;
  let user: TestClient;

  beforeAll(async () => {
    app = await startTestApp(drivers, { UPLOAD_EXPIRY_HOURS: "24", METRICS_TOKEN, ...env });
    user = new TestClient(app.url);
    await user.register("Fay", "fay@example.com");
  });
  afterAll(() => app?.close());

  /** A tus upload of `size` random bytes, `send` of them sent; the upload id. */
  async function upload(name: string, size: number, send = size): Promise<string> {
    const created = await fetch(`${app.url}/api/uploads`, {
      method: "POST",
      headers: {
        cookie: user.cookieHeader,
        "Tus-Resumable": "1.0.0",
        "Upload-Length": String(size),
        "Upload-Metadata": `filename ${Buffer.from(name).toString("base64")}`,
      },
    });
    expect(created.status).toBe(201);
    const location = new URL(created.headers.get("location")!, app.url).toString();
    const patch = await fetch(location, {
      method: "PATCH",
      headers: {
        cookie: user.cookieHeader,
        "Tus-Resumable": "1.0.0",
        "Upload-Offset": "0",
        "Content-Type": "application/offset+octet-stream",
      },
      body: new Uint8Array(randomBytes(send)),
    });
    expect(patch.status).toBe(204);
    return location.split("/").pop()!;
  }

  /**
   * Waits for what finishing an upload leaves to do in the background: the tus record (.info,
   * .json) removed just after the response, and the hash of a file whose in-stream hash was lost.
   */
  async function settled() {
    const leftovers = async () => {
      const pending = new Set((await app.services.prisma.upload.findMany({ select: { id: true } })).map((u) => u.id));
      return (await allKeys(app)).filter((k) => /\.(info|json)$/.test(k) && !pending.has(k.replace(/\.(info|json)$/, "")));
    };
    await expect.poll(leftovers).toEqual([]);
    await expect.poll(() => app.services.prisma.file.count({ where: { sha256: null } })).toBe(0);
  }

  it("reports nothing on a clean store, and the CLI exits 0", async () => {
    await upload("clean-a.txt", 1000);
    await upload("clean-b.bin", 70_000);
    await settled();
    const report = await checkStorage(app.services, { hash: true, now: new Date(Date.now() + 2 * HOUR) });
    expect(report.listed).toEqual([]);
    expect(Object.values(report.problems)).toEqual([0, 0, 0, 0, 0]);
    expect(report.rows).toBe(2);

    const cli = await runCli(app, ["fsck", "--hash"]);
    expect(cli.stderr).toBe("");
    expect(cli.stdout).toContain("No problems found.");
    expect(cli.code).toBe(0);
  }, 180_000);

  it("finds orphans, missing objects, size and hash mismatches and expired uploads; repairs what it can", async () => {
    const raw = rawStore(app);
    const prisma = app.services.prisma;
    const [kept, gone, truncated, corrupted, versioned] = await Promise.all(
      ["kept.bin", "gone.bin", "truncated.bin", "corrupted.bin", "versioned.bin"].map((name) => upload(name, 100_000)),
    );
    const pending = await upload("pending.bin", 200_000, 1000);
    const expired = await upload("expired.bin", 200_000, 1000);
    await prisma.$executeRaw`UPDATE uploads SET created_at = now() - interval '25 hours' WHERE id = ${expired}`;
    await settled();

    // Owned, so never orphans: a kept version and a thumbnail.
    const versionKey = `v${randomBytes(16).toString("hex")}`;
    await raw.copy(versioned!, versionKey);
    const versionedFile = await prisma.file.findFirstOrThrow({ where: { storageKey: versioned } });
    await prisma.fileVersion.create({
      data: {
        fileId: versionedFile.id,
        storageKey: versionKey,
        size: 100_000,
        mimeType: "application/octet-stream",
        sha256: versionedFile.sha256,
        createdAt: new Date(),
      },
    });
    await raw.put(`${kept}.thumb.webp`, Readable.from([Buffer.from("webp")]));
    await prisma.file.updateMany({ where: { storageKey: kept }, data: { thumbnailKey: `${kept}.thumb.webp` } });
    // A thumbnail row whose object is not there.
    await prisma.file.updateMany({ where: { storageKey: versioned }, data: { thumbnailKey: `${versioned}.thumb.webp` } });

    // The damage.
    const orphan = randomBytes(16).toString("hex");
    const orphanBytes = randomBytes(5000);
    await raw.put(orphan, Readable.from([orphanBytes]));
    await raw.delete(gone!);
    const whole = await readAll(await raw.get(truncated!));
    await raw.put(truncated!, Readable.from([whole.subarray(0, whole.length - 10)]));
    const flipped = await readAll(await raw.get(corrupted!));
    flipped[flipped.length - 100] ^= 0x01;
    await raw.put(corrupted!, Readable.from([flipped]));

    const later = new Date(Date.now() + 2 * HOUR);
    const expected = [
      `expired_upload ${expired}`,
      `missing ${gone}`,
      `missing ${versioned}.thumb.webp`,
      `orphan ${orphan}`,
      `size_mismatch ${truncated}`,
    ];
    const plain = await checkStorage(app.services, { now: later });
    expect(found(plain)).toEqual(expected.sort());
    // Objects younger than an hour may belong to a row being written: never orphans.
    expect(found(await checkStorage(app.services))).not.toContain(`orphan ${orphan}`);

    const hashed = await checkStorage(app.services, { hash: true, now: later });
    expect(found(hashed)).toEqual([...expected, `hash_mismatch ${corrupted}`].sort());
    expect(hashed.problems).toEqual({ orphan: 1, missing: 2, size_mismatch: 1, hash_mismatch: 1, expired_upload: 1 });

    // The CLI reports the same (at the real time, the orphan is too young to count) and exits 1; nothing changed.
    const cli = await runCli(app, ["fsck", "--hash", "--json"]);
    expect(cli.code).toBe(1);
    const fromCli = JSON.parse(cli.stdout) as StorageCheckReport;
    expect(fromCli.problems).toEqual({ orphan: 0, missing: 2, size_mismatch: 1, hash_mismatch: 1, expired_upload: 1 });
    expect((await allKeys(app)).includes(orphan)).toBe(true);

    // Repair: the orphan into quarantine, the expired upload removed; the rest stays reported.
    const repaired = await checkStorage(app.services, {
      hash: true,
      now: later,
      repairOrphans: true,
      uploads: app.services.uploadTerminator,
    });
    expect(repaired.repaired).toEqual({ quarantined: 1, purged: 0, uploadsRemoved: 1 });
    expect(repaired.problems).toEqual({ orphan: 0, missing: 2, size_mismatch: 1, hash_mismatch: 1, expired_upload: 0 });
    expect(await prisma.upload.findMany({ select: { id: true } })).toEqual([{ id: pending }]);
    expect((await allKeys(app)).filter((k) => k.startsWith(expired!))).toEqual([]);
    const keys = await allKeys(app);
    expect(keys).not.toContain(orphan);
    const quarantined = keys.filter((k) => parseQuarantineKey(k)?.key === orphan);
    expect(quarantined).toHaveLength(1);
    // Restorable within the grace period: the same bytes.
    expect(await readAll(await raw.get(quarantined[0]!))).toEqual(orphanBytes);
    // Every object a row names is still there.
    for (const key of [kept, truncated, corrupted, versioned, versionKey, `${kept}.thumb.webp`]) expect(keys).toContain(key);

    // Within the grace period it stays; after it, a repair deletes it.
    const within = await checkStorage(app.services, { now: new Date(later.getTime() + QUARANTINE_GRACE_MS - HOUR), repairOrphans: true });
    expect(within.repaired.purged).toBe(0);
    expect(within.inQuarantine).toBe(1);
    const after = await checkStorage(app.services, { now: new Date(later.getTime() + QUARANTINE_GRACE_MS + HOUR), repairOrphans: true });
    expect(after.repaired.purged).toBe(1);
    expect(after.inQuarantine).toBe(0);
    expect((await allKeys(app)).filter((k) => k.startsWith("quarantine-"))).toEqual([]);

    // Each repair is audited, as the system (job) or the operator (CLI).
    const audited = await prisma.auditEvent.findMany({ where: { action: { startsWith: "storage." } }, orderBy: { createdAt: "asc" } });
    expect(audited.filter((e) => e.action === "storage.orphan_quarantined").map((e) => (e.details as { key: string }).key)).toEqual([
      orphan,
    ]);
    expect(audited.filter((e) => e.action === "storage.orphan_deleted").map((e) => (e.details as { key: string }).key)).toEqual([orphan]);
    expect(audited.filter((e) => e.action === "storage.expired_uploads_removed").map((e) => e.details)).toEqual([{ removed: 1 }]);
    expect(audited.filter((e) => e.action === "storage.checked").map((e) => e.actorLabel)).toContain("operator (coffer fsck)");

    // The CLI repairs too: an expired upload is removed through its own tus store; the rest remains (exit 1).
    const stale = await upload("stale.bin", 200_000, 1000);
    await prisma.$executeRaw`UPDATE uploads SET created_at = now() - interval '25 hours' WHERE id = ${stale}`;
    const cliRepair = await runCli(app, ["fsck", "--repair"]);
    expect(cliRepair.stdout).toContain("1 expired upload(s) removed");
    expect(cliRepair.stdout).toContain("Problems: 2 missing, 1 size_mismatch.");
    expect(cliRepair.code).toBe(1);
    expect(await prisma.upload.count({ where: { id: stale } })).toBe(0);
    expect((await allKeys(app)).filter((k) => k.startsWith(stale))).toEqual([]);

    // The metrics show the last run, whichever process ran it.
    const scrape = await fetch(`${app.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    const text = await scrape.text();
    const last = { orphan: 0, missing: 2, size_mismatch: 1, hash_mismatch: 0, expired_upload: 0 };
    for (const [kind, count] of Object.entries(last)) expect(text).toContain(`coffer_storage_check_problems{kind="${kind}"} ${count}\n`);
    const lastRun = Number(/^coffer_storage_check_last_run_timestamp_seconds (\S+)$/m.exec(text)?.[1]);
    expect(Math.abs(lastRun * 1000 - Date.now())).toBeLessThan(120_000);
  }, 300_000);

  it("leaves an object whose deletion is deferred (a backup or WAL shipping needs it) to the deletion job", async () => {
    const key = randomBytes(16).toString("hex");
    const bytes = randomBytes(5000);
    await rawStore(app).put(key, Readable.from([bytes]), { size: bytes.length });
    await app.services.prisma.deferredObjectDeletion.create({ data: { key } });
    try {
      const report = await checkStorage(app.services, { now: new Date(Date.now() + 2 * HOUR), repairOrphans: true });
      expect(report.repaired.quarantined).toBe(0);
      expect(report.listed.filter((found) => found.key === key)).toEqual([]);
      expect(await allKeys(app)).toContain(key);
    } finally {
      await app.services.prisma.deferredObjectDeletion.deleteMany({ where: { key } });
      await rawStore(app).delete(key);
    }
  });

  it("runs as the weekly storage-check job, audited as the system", async () => {
    await expect.poll(() => app.services.jobs, { timeout: 30_000 }).toBeDefined();
    const queue = app.services.jobs!.queues().find((q) => q.name === "storage-check");
    expect(queue?.cron).toBe("45 3 * * 0");
    const before = await app.services.prisma.auditEvent.count({ where: { action: "storage.checked", actorLabel: "system" } });
    expect(await app.services.jobs!.send("storage-check")).not.toBeNull();
    await expect
      .poll(() => app.services.prisma.auditEvent.count({ where: { action: "storage.checked", actorLabel: "system" } }), { timeout: 30_000 })
      .toBe(before + 1);
  }, 60_000);

  it("refuses unknown flags and commands with a usage error (exit 2), touching nothing", async () => {
    const flag = await runCli(app, ["fsck", "--repiar"]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("Unknown option '--repiar'");
    expect(flag.stderr).toContain("Usage: coffer fsck [--repair] [--hash] [--json]");
    const positional = await runCli(app, ["fsck", "everything"]);
    expect(positional.code).toBe(2);
    const command = await runCli(app, ["fsk"]);
    expect(command.code).toBe(2);
    expect(command.stderr).toContain('unknown command "fsk"');
    const none = await runCli(app, []);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("Usage: coffer <command>");
  }, 180_000);
});
