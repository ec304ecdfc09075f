import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { LocalObjectStore } from "~/services/storage/local.server";
import { targetKeys } from "../backup/manifest";
import type { BaseBackup } from "./physical.server";
import { walToFetch } from "./restore-to-time.server";

const own = "7581234567890123456";
const other = "7581234567890999999";
const root = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-wal-fetch-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** A base backup starting in segment 3 of timeline 1. */
function base(systemId?: string): BaseBackup {
  const at = new Date().toISOString();
  return {
    id: "20261206T021509123Z-a1b2c3",
    physical: {
      startLsn: "0/3000028",
      stopLsn: "0/3000100",
      startedAt: at,
      finishedAt: at,
      timeline: 1,
      bytes: 0,
      sha256: "0".repeat(64),
      systemId,
    },
  };
}

describe("the archived WAL a point-in-time restore fetches", async () => {
  const target = new LocalObjectStore(path.join(root, "target"));
  await target.init();
  for (const key of [
    targetKeys.legacyWal("000000010000000000000002"),
    targetKeys.legacyWal("000000010000000000000003"),
    targetKeys.legacyWal("000000010000000000000004"),
    targetKeys.legacyWal("00000002.history"),
    targetKeys.wal(own, "000000010000000000000004"),
    targetKeys.wal(own, "000000010000000000000005"),
    targetKeys.wal(other, "000000010000000000000003"),
    targetKeys.wal(other, "000000010000000000000006"),
    targetKeys.wal(other, "00000003.history"),
  ])
    await target.put(key, Readable.from([Buffer.from(key)]));
  const to = new Date(Date.now() - 1000);

  it("takes only its own cluster's files for a base that records its cluster", async () => {
    expect(await walToFetch(target, base(own), to, { systemId: own, legacy: false })).toEqual([
      { name: "000000010000000000000004", objectKey: targetKeys.wal(own, "000000010000000000000004") },
      { name: "000000010000000000000005", objectKey: targetKeys.wal(own, "000000010000000000000005") },
    ]);
  });

  it("also reads the flat layout for an earlier release's base, preferring its cluster's file of a name", async () => {
    expect(await walToFetch(target, base(), to, { systemId: own, legacy: true })).toEqual([
      { name: "000000010000000000000003", objectKey: targetKeys.legacyWal("000000010000000000000003") },
      { name: "000000010000000000000004", objectKey: targetKeys.wal(own, "000000010000000000000004") },
      { name: "000000010000000000000005", objectKey: targetKeys.wal(own, "000000010000000000000005") },
      { name: "00000002.history", objectKey: targetKeys.legacyWal("00000002.history") },
    ]);
  });
});
