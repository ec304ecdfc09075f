import { describe, expect, it } from "vitest";
import { decodeTimeCursor, encodeTimeCursor } from "./time-cursor";

describe("the time cursor", () => {
  it("gives back the position it encodes", () => {
    const position = { createdAt: new Date("2026-12-06T10:00:00.123Z"), id: "cmxabc" };
    expect(decodeTimeCursor(encodeTimeCursor(position))).toEqual(position);
  });

  it("refuses what it did not write", () => {
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
    for (const bad of [
      "",
      "bm9wZQ",
      encode(["not a date", "x"]),
      encode(["2026-12-06T10:00:00Z"]),
      encode(["2026-12-06T10:00:00Z", ""]),
      "x".repeat(600),
    ]) {
      expect(decodeTimeCursor(bad), bad.slice(0, 40)).toBeNull();
    }
  });
});
