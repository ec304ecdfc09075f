import { describe, expect, it } from "vitest";
import { chartScale, niceByteStep, niceStep, shortDay } from "./scale";

const box = { width: 640, height: 220, left: 72, right: 12, top: 12, bottom: 28 };

describe("chart scale", () => {
  it("rounds steps up to 1, 2 or 5 times a power of ten, never below 1", () => {
    expect([0, 0.3, 1, 1.2, 3, 7, 12, 260, 999].map(niceStep)).toEqual([1, 1, 1, 2, 5, 10, 20, 500, 1000]);
  });

  it("rounds byte steps in binary units", () => {
    expect(niceByteStep(1.7 * 2 ** 30)).toBe(2 * 2 ** 30);
    expect(niceByteStep(0.375 * 2 ** 30)).toBe(0.5 * 2 ** 30);
    expect(niceByteStep(300 * 2 ** 20)).toBe(0.5 * 2 ** 30);
    expect(niceByteStep(200 * 2 ** 20)).toBe(200 * 2 ** 20);
    expect(niceByteStep(887)).toBe(1024);
    expect(niceByteStep(100)).toBe(100);
    expect(niceByteStep(0)).toBe(1);
  });

  it("puts 0 at the bottom and the top tick at the top, days left to right", () => {
    const scale = chartScale([3, null, 17], 3, box);
    expect(scale.ticks).toEqual([0, 5, 10, 15, 20]);
    expect(scale.y(0)).toBe(220 - 28);
    expect(scale.y(20)).toBe(12);
    expect(scale.x(0)).toBeLessThan(scale.x(1));
    expect(scale.x(2)).toBeLessThan(640 - 12);
  });

  it("draws an empty chart with a unit scale", () => {
    expect(chartScale([null, 0], 2, box).ticks).toEqual([0, 1, 2, 3, 4]);
  });

  it("names days briefly", () => {
    expect(shortDay("2026-12-05")).toBe("5 Dec");
    expect(shortDay("2027-01-31")).toBe("31 Jan");
  });
});
