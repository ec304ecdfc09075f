import { describe, expect, it } from "vitest";
import { type BackupPoint, chooseRetained } from "./retention";

/** A backup at `iso` (UTC), with an id of the real format. */
function at(iso: string, suffix = "abcdef"): BackupPoint {
  const startedAt = new Date(iso);
  const id = `${startedAt.toISOString().replace(/[-:]/g, "").slice(0, 15)}Z-${suffix}`;
  return { id, startedAt };
}

/** One backup a day at 02:15 UTC, `days` days ending on `last` (inclusive). */
function daily(last: string, days: number): BackupPoint[] {
  const end = new Date(`${last}T02:15:00Z`).getTime();
  return Array.from({ length: days }, (_, i) => at(new Date(end - i * 86_400_000).toISOString()));
}

const day = (b: string) => b.slice(0, 8);

describe("chooseRetained", () => {
  it("keeps nothing to prune when there is nothing", () => {
    expect(chooseRetained([], { daily: 7, weekly: 4, monthly: 6 })).toEqual({ keep: [], prune: [] });
  });

  it("keeps the last backup of each of the newest N days, newest first", () => {
    const backups = daily("2026-12-06", 10);
    const { keep, prune } = chooseRetained(backups, { daily: 3, weekly: 0, monthly: 0 });
    expect(keep.map(day)).toEqual(["20261206", "20261205", "20261204"]);
    expect(prune).toHaveLength(7);
    expect(prune.map(day)[0]).toBe("20261203");
  });

  it("keeps only the last of several backups on one day", () => {
    const backups = [at("2026-12-06T02:15:00Z", "aaaaaa"), at("2026-12-06T14:00:00Z", "bbbbbb"), at("2026-12-05T02:15:00Z")];
    const { keep, prune } = chooseRetained(backups, { daily: 2, weekly: 0, monthly: 0 });
    expect(keep).toEqual([backups[1]!.id, backups[2]!.id]);
    expect(prune).toEqual([backups[0]!.id]);
  });

  it("keeps the last backup of each ISO week (Monday to Sunday) and of each month", () => {
    // 2026-12-06 is a Sunday; 60 daily backups reach back to 2026-10-08.
    const backups = daily("2026-12-06", 60);
    const { keep } = chooseRetained(backups, { daily: 1, weekly: 3, monthly: 3 });
    expect(keep.map(day)).toEqual([
      "20261206", // newest, daily, last of its week (Sun) and of December so far
      "20261130", // last of November
      "20261129", // last of the week of Mon 23 Nov
      "20261122", // last of the week of Mon 16 Nov
      "20261031", // last of October
    ]);
  });

  it("lets one backup count for a day, a week and a month", () => {
    const backups = daily("2026-12-06", 3);
    const { keep, prune } = chooseRetained(backups, { daily: 1, weekly: 1, monthly: 1 });
    expect(keep.map(day)).toEqual(["20261206"]);
    expect(prune.map(day)).toEqual(["20261205", "20261204"]);
  });

  it("never prunes the newest backup, even with every count at zero", () => {
    const backups = daily("2026-12-06", 4);
    const { keep, prune } = chooseRetained(backups, { daily: 0, weekly: 0, monthly: 0 });
    expect(keep).toEqual([backups[0]!.id]);
    expect(prune).toHaveLength(3);
  });

  it("counts days that have a backup, so a gap does not shorten the window", () => {
    const backups = [at("2026-12-06T02:15:00Z"), at("2026-12-01T02:15:00Z"), at("2026-11-20T02:15:00Z"), at("2026-11-19T02:15:00Z")];
    const { keep } = chooseRetained(backups, { daily: 3, weekly: 0, monthly: 0 });
    expect(keep.map(day)).toEqual(["20261206", "20261201", "20261120"]);
  });

  it("does not depend on the order it is given", () => {
    const backups = daily("2026-12-06", 40);
    const policy = { daily: 7, weekly: 4, monthly: 6 };
    const forward = chooseRetained(backups, policy);
    expect(chooseRetained([...backups].reverse(), policy)).toEqual(forward);
    expect(forward.keep.length + forward.prune.length).toBe(40);
  });
});
