import { describe, expect, it } from "vitest";
import { formatBytes, formatDate } from "./format";

describe("formatDate", () => {
  it("writes dates in UTC, day month year and hours:minutes", () => {
    expect(formatDate(new Date("2026-03-04T05:06:07Z"))).toBe("4 Mar 2026, 05:06 UTC");
    expect(formatDate("2026-12-31T23:59:59.999Z")).toBe("31 Dec 2026, 23:59 UTC");
  });

  it("writes every date as toLocaleString did", () => {
    for (let day = 0; day < 400; day += 7) {
      const date = new Date(Date.UTC(2026, 0, 1, day % 24, (day * 7) % 60) + day * 86_400_000);
      const before = `${date.toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" })} UTC`;
      expect(formatDate(date)).toBe(before);
      expect(formatDate(date.toISOString())).toBe(before);
    }
  });
});

describe("formatBytes", () => {
  it("keeps bytes below 1 KiB whole and rounds larger sizes", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(50 * 1024 * 1024)).toBe("50 MiB");
  });
});
