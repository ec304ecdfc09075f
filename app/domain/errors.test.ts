import { describe, expect, it, vi } from "vitest";

describe("isAppError", () => {
  it("knows an AppError from another copy of the module (tests load the sources beside the build)", async () => {
    const first = await import("./errors");
    vi.resetModules();
    const second = await import("./errors");
    expect(second.ValidationError).not.toBe(first.ValidationError);
    expect(first.isAppError(new second.ValidationError("That name is taken."))).toBe(true);
    expect(first.isAppError(new Error("plain"))).toBe(false);
    expect(first.isAppError({ status: 400, message: "an object, not an error" })).toBe(false);
  });
});
