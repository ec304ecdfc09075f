import { beforeEach, describe, expect, it } from "vitest";
import { recordServerResponse, resetServerErrors, serverErrorCounts } from "./server-errors.server";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
// A round hour, so the hour buckets are easy to reason about.
const T0 = Date.UTC(2026, 0, 1, 12);

describe("server error counts", () => {
  beforeEach(() => resetServerErrors());

  it("counts only 5xx answers, by route class", () => {
    for (const status of [200, 302, 404, 499, 500, 503, 503]) recordServerResponse("page", status, T0);
    recordServerResponse("download", 502, T0);
    expect(serverErrorCounts(T0)).toEqual({ lastHour: { page: 3, download: 1 }, lastDay: { page: 3, download: 1 } });
  });

  it("drops a minute from the last hour after 60 minutes, and an hour from the day after 24 hours", () => {
    recordServerResponse("api", 500, T0);
    recordServerResponse("api", 500, T0 + 30 * MINUTE);
    expect(serverErrorCounts(T0 + 59 * MINUTE).lastHour).toEqual({ api: 2 });
    expect(serverErrorCounts(T0 + 60 * MINUTE).lastHour).toEqual({ api: 1 });
    expect(serverErrorCounts(T0 + 90 * MINUTE)).toEqual({ lastHour: {}, lastDay: { api: 2 } });
    expect(serverErrorCounts(T0 + 23 * HOUR + 59 * MINUTE).lastDay).toEqual({ api: 2 });
    expect(serverErrorCounts(T0 + 24 * HOUR).lastDay).toEqual({});
  });

  it("keeps memory bounded: at most 60 minute buckets and 24 hour buckets", () => {
    for (let minute = 0; minute < 3 * 24 * 60; minute += 7) recordServerResponse("tus", 500, T0 + minute * MINUTE);
    const record = (globalThis as Record<symbol, { minutes: Map<number, unknown>; hours: Map<number, unknown> }>)[
      Symbol.for("coffer.serverErrors")
    ];
    expect(record.minutes.size).toBeLessThanOrEqual(60);
    expect(record.hours.size).toBeLessThanOrEqual(24);
  });
});
