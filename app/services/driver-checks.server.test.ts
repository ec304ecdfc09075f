import { describe, expect, it } from "vitest";
import { describeFailure } from "./driver-checks.server";

describe("describeFailure", () => {
  it("keeps the last meaningful line of a Prisma error: no code excerpt, invocation line or connection string", () => {
    const error = new Error(
      [
        "",
        "Invalid `prisma.user.findFirst()` invocation in",
        "/app/build/server/index.js:120:7",
        "",
        "  119 const x = 1;",
        "→ 120 await prisma.user.findFirst(",
        "Can't reach database server at `postgres://coffer:secret@db.internal:5432/coffer`",
      ].join("\n"),
    );
    expect(describeFailure(error)).toBe("Can't reach database server at <url>");
  });

  it("drops a trailing code line that starts with the arrow", () => {
    expect(describeFailure(new Error("connection refused\n→ 12 await client.connect()"))).toBe("connection refused");
  });
});
