import { describe, expect, it } from "vitest";
import {
  BACKUP_ID,
  backupIdOf,
  backupIdTime,
  compareBackupIds,
  manifestIdOf,
  newBackupId,
  nextBackupId,
  storageKeyOf,
  targetKeys,
  walOf,
} from "./manifest";

describe("backup ids and target keys", () => {
  it("makes ids that start with the UTC time to the millisecond and sort by it", () => {
    const early = newBackupId(new Date("2026-12-06T02:15:09.123Z"));
    const late = newBackupId(new Date("2026-12-06T02:15:09.124Z"));
    expect(early).toMatch(BACKUP_ID);
    expect(early.startsWith("20261206T021509123Z-")).toBe(true);
    expect(early < late).toBe(true);
    expect(backupIdTime(early).toISOString()).toBe("2026-12-06T02:15:09.123Z");
    expect([late, early].sort(compareBackupIds)).toEqual([early, late]);
  });

  it("still reads the whole-second ids of earlier releases, and orders them among the new ones", () => {
    const old = "20261206T021509Z-ffffff";
    expect(old).toMatch(BACKUP_ID);
    expect(backupIdTime(old).toISOString()).toBe("2026-12-06T02:15:09.000Z");
    expect(manifestIdOf(targetKeys.manifest(old))).toBe(old);
    const sameSecond = newBackupId(new Date("2026-12-06T02:15:09.500Z"));
    const earlier = newBackupId(new Date("2026-12-06T02:15:08.999Z"));
    expect([sameSecond, old, earlier].sort(compareBackupIds)).toEqual([earlier, old, sameSecond]);
  });

  it("gives a run in the same millisecond as the newest backup, or after the clock went back, a later id", () => {
    const at = new Date("2026-12-06T02:15:09.123Z");
    const first = nextBackupId(at, undefined);
    expect(first.startedAt).toEqual(at);
    const second = nextBackupId(at, first.id);
    expect(second.startedAt.toISOString()).toBe("2026-12-06T02:15:09.124Z");
    expect(compareBackupIds(first.id, second.id)).toBeLessThan(0);
    const back = nextBackupId(new Date("2026-12-06T01:00:00.000Z"), second.id);
    expect(compareBackupIds(second.id, back.id)).toBeLessThan(0);
    const later = new Date("2026-12-06T03:00:00.000Z");
    expect(nextBackupId(later, second.id).startedAt).toEqual(later);
  });

  it("tells which backup or object a key belongs to", () => {
    for (const id of ["20261206T021509Z-a1b2c3", "20261206T021509123Z-a1b2c3"]) {
      expect(manifestIdOf(targetKeys.manifest(id))).toBe(id);
      expect(manifestIdOf(targetKeys.table(id, "users"))).toBeNull();
      expect(backupIdOf(targetKeys.table(id, "users"))).toBe(id);
    }
    expect(backupIdOf(targetKeys.object("abc"))).toBeNull();
    expect(storageKeyOf(targetKeys.object("abc.thumb.webp"))).toBe("abc.thumb.webp");
    expect(storageKeyOf(targetKeys.wal("7581234567890123456", "000000010000000000000001"))).toBeNull();
  });

  it("reads WAL keys of both layouts", () => {
    expect(walOf(targetKeys.wal("7581234567890123456", "000000010000000000000001"))).toEqual({
      systemId: "7581234567890123456",
      name: "000000010000000000000001",
    });
    expect(walOf(targetKeys.wal("7581234567890123456", "00000002.history"))).toEqual({
      systemId: "7581234567890123456",
      name: "00000002.history",
    });
    expect(walOf(targetKeys.legacyWal("000000010000000000000001"))).toEqual({ systemId: null, name: "000000010000000000000001" });
    expect(walOf(targetKeys.legacyWal("00000002.history"))).toEqual({ systemId: null, name: "00000002.history" });
    expect(walOf(targetKeys.object("abc"))).toBeNull();
  });
});
