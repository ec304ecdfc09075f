import { describe, expect, it } from "vitest";
import { BACKUP_ID, backupIdOf, backupIdTime, manifestIdOf, newBackupId, storageKeyOf, targetKeys } from "./manifest";

describe("backup ids and target keys", () => {
  it("makes ids that start with the UTC time and sort by it", () => {
    const early = newBackupId(new Date("2026-12-06T02:15:09.123Z"));
    const late = newBackupId(new Date("2026-12-06T02:15:10.000Z"));
    expect(early).toMatch(BACKUP_ID);
    expect(early.startsWith("20261206T021509Z-")).toBe(true);
    expect(early < late).toBe(true);
    expect(backupIdTime(early).toISOString()).toBe("2026-12-06T02:15:09.000Z");
  });

  it("tells which backup or object a key belongs to", () => {
    const id = "20261206T021509Z-a1b2c3";
    expect(manifestIdOf(targetKeys.manifest(id))).toBe(id);
    expect(manifestIdOf(targetKeys.table(id, "users"))).toBeNull();
    expect(backupIdOf(targetKeys.table(id, "users"))).toBe(id);
    expect(backupIdOf(targetKeys.object("abc"))).toBeNull();
    expect(storageKeyOf(targetKeys.object("abc.thumb.webp"))).toBe("abc.thumb.webp");
    expect(storageKeyOf(targetKeys.wal("000000010000000000000001"))).toBeNull();
  });
});
