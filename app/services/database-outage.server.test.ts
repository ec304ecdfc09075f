import { describe, expect, it } from "vitest";
import { Prisma } from "~/generated/prisma/client";
import { describeDatabaseError, isDatabaseOutage } from "./database-outage.server";
import { DependencyUnavailableError } from "./dependency.server";

const known = (code: string, message: string, meta?: Record<string, unknown>) =>
  new Prisma.PrismaClientKnownRequestError(message, { code, clientVersion: "7", meta });
const adapter = (cause: Record<string, unknown>) => ({ driverAdapterError: { name: "DriverAdapterError", cause } });

describe("isDatabaseOutage", () => {
  it.each([
    ["P1001 can't reach", known("P1001", "\nInvalid `prisma.user.count()` invocation:\n\nCan't reach database server at 127.0.0.1:5432")],
    ["P1017 server closed", known("P1017", "Server has closed the connection.")],
    ["a raw query that could not connect", known("P2010", "Raw query failed.", adapter({ kind: "DatabaseNotReachable" }))],
    ["a dropped connection", known("P2010", "Raw query failed.", adapter({ kind: "ConnectionClosed" }))],
    ["admin shutdown (57P01)", known("P2010", "Raw query failed.", adapter({ kind: "postgres", code: "57P01" }))],
    ["starting up (57P03)", Object.assign(new Error("the database system is starting up"), { code: "57P03", severity: "FATAL" })],
    ["refused", Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" })],
    ["terminated", new Error("Connection terminated unexpectedly")],
    ["connect timeout", new Error("Connection terminated due to connection timeout")],
    ["the client's connect timeout", new Error("timeout expired")],
    ["pool timeout", new Error("timeout exceeded when trying to connect")],
    ["a wrapped cause", new Error("query failed", { cause: Object.assign(new Error("socket"), { code: "ECONNRESET" }) })],
  ])("%s is an outage", (_label, error) => {
    expect(isDatabaseOutage(error)).toBe(true);
  });

  it.each([
    ["a unique violation", known("P2002", "Unique constraint failed on the fields: (`email`)")],
    ["a missing row", known("P2025", "No record was found for an update.")],
    ["a syntax error", known("P2010", "Raw query failed.", adapter({ kind: "postgres", code: "42601" }))],
    ["a plain bug", new TypeError("cannot read properties of undefined")],
    ["a 503 already", new DependencyUnavailableError("database")],
    ["not an error", "Connection"],
  ])("%s is not", (_label, error) => {
    expect(isDatabaseOutage(error)).toBe(false);
  });
});

describe("describeDatabaseError", () => {
  it("keeps Prisma's reason on one line, without the calling code or a URL", () => {
    const error = known(
      "P2010",
      "\nInvalid `prisma.$queryRaw()` invocation:\n\n\nRaw query failed. Code: `N/A`. Message: `Can't reach database server at 127.0.0.1:5432`",
    );
    expect(describeDatabaseError(error)).toBe("Can't reach database server at 127.0.0.1:5432");
    const quoted = new Error(
      "\nInvalid `prisma.user.count()` invocation in\n/app/x.ts:28:31\n\n  25 foo\n→ 28   bar(\nConnection to postgres://u:secret@db/x failed",
    );
    expect(describeDatabaseError(quoted)).toBe("Connection to <url> failed");
    expect(describeDatabaseError(new Error("timeout expired"))).toBe("The database did not accept a connection in time");
  });
});
