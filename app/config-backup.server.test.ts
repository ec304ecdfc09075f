import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "~/config.server";

const KEY = Buffer.alloc(32, 7).toString("base64");

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

describe("backup configuration", () => {
  it("has no backups until a target and a key are set", () => {
    expect(loadConfig({}).backup).toBeUndefined();
    expect(problemsOf({ BACKUP_DIR: "/srv/backups" })).toEqual([expect.stringMatching(/^BACKUP_KEY: is required when BACKUP_DIR is set/)]);
  });

  it("writes to a directory with the default schedule, retention and WAL archiving", () => {
    const backup = loadConfig({ BACKUP_DIR: "/srv/backups", BACKUP_KEY: KEY, DATA_DIR: "/srv/data" }).backup;
    expect(backup).toMatchObject({
      target: { driver: "local", directory: "/srv/backups" },
      schedule: "15 2 * * *",
      verifySchedule: "45 4 * * 0",
      keep: { daily: 7, weekly: 4, monthly: 6 },
      walArchive: true,
    });
    expect(backup?.key.equals(Buffer.alloc(32, 7))).toBe(true);
  });

  it("reads the key from a file, and refuses a bad one", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "coffer-key-"));
    writeFileSync(path.join(dir, "key"), `${KEY}\n`);
    writeFileSync(path.join(dir, "bad"), "not a key");
    expect(loadConfig({ BACKUP_DIR: "/b", BACKUP_KEY_FILE: path.join(dir, "key") }).backup?.key.length).toBe(32);
    expect(problemsOf({ BACKUP_DIR: "/b", BACKUP_KEY_FILE: path.join(dir, "bad") })).toEqual([
      expect.stringMatching(/^BACKUP_KEY_FILE: .* base64 of exactly 32 bytes/),
    ]);
    expect(problemsOf({ BACKUP_DIR: "/b", BACKUP_KEY_FILE: path.join(dir, "missing") })).toHaveLength(1);
  });

  it("uses a bucket on the data's S3 endpoint, or on its own endpoint with its own credentials", () => {
    const s3 = { S3_ENDPOINT: "http://s3.local:9000", S3_ACCESS_KEY: "a", S3_SECRET_KEY: "s", S3_REGION: "eu-1" };
    expect(loadConfig({ ...s3, BACKUP_S3_BUCKET: "coffer-backups", BACKUP_KEY: KEY }).backup?.target).toMatchObject({
      driver: "s3",
      endpoint: "http://s3.local:9000",
      accessKey: "a",
      bucket: "coffer-backups",
      region: "eu-1",
    });
    const own = { BACKUP_S3_BUCKET: "coffer-backups", BACKUP_S3_ENDPOINT: "https://s3.other.example", BACKUP_KEY: KEY };
    expect(problemsOf({ ...s3, ...own })).toEqual([
      expect.stringMatching(/^BACKUP_S3_ACCESS_KEY: is required/),
      expect.stringMatching(/^BACKUP_S3_SECRET_KEY: is required/),
    ]);
    const target = loadConfig({ ...own, BACKUP_S3_ACCESS_KEY: "b", BACKUP_S3_SECRET_KEY: "t" }).backup?.target;
    expect(target).toMatchObject({ endpoint: "https://s3.other.example", accessKey: "b", secretKey: "t", region: "us-east-1" });
    expect(problemsOf({ BACKUP_S3_BUCKET: "coffer-backups", BACKUP_KEY: KEY })).toEqual([
      expect.stringMatching(/^BACKUP_S3_ENDPOINT: is required/),
      expect.stringMatching(/^BACKUP_S3_ACCESS_KEY/),
      expect.stringMatching(/^BACKUP_S3_SECRET_KEY/),
    ]);
  });

  it("refuses two targets, a target inside DATA_DIR, a bad schedule and bad retention", () => {
    expect(
      problemsOf({
        BACKUP_DIR: "/b",
        BACKUP_S3_BUCKET: "bucket",
        S3_ENDPOINT: "http://s3",
        S3_ACCESS_KEY: "a",
        S3_SECRET_KEY: "s",
        BACKUP_KEY: KEY,
      }),
    ).toContain("BACKUP_DIR, BACKUP_S3_BUCKET: choose one backup target");
    expect(problemsOf({ BACKUP_DIR: "/srv/data/backups", DATA_DIR: "/srv/data", BACKUP_KEY: KEY })).toEqual([
      "BACKUP_DIR: must be outside DATA_DIR (a restore replaces DATA_DIR)",
    ]);
    expect(problemsOf({ BACKUP_SCHEDULE: "daily" })).toEqual([expect.stringMatching(/^BACKUP_SCHEDULE: must be five cron fields/)]);
    expect(loadConfig({ BACKUP_DIR: "/b", BACKUP_KEY: KEY, BACKUP_VERIFY_SCHEDULE: "off" }).backup?.verifySchedule).toBeNull();
    expect(problemsOf({ BACKUP_KEEP_DAILY: "0" })).toHaveLength(1);
  });
});
