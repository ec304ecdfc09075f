import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditActor } from "~/domain/audit/audit.server";
import { createToken } from "~/domain/tokens/tokens.server";
import { startTestApp, type TestApp } from "./support/app";
import { DRIVER_SETS, registerPerson, type Person } from "./support/people";

/**
 * litmus (the WebDAV conformance suite, Debian package `litmus`) against /dav/ on both driver
 * sets: local disk with the memory cache, S3 with Redis (locks in Redis). Every suite must pass
 * with no failure and no warning.
 */

const run = promisify(execFile);
const actor: AuditActor = { actorId: null, actorLabel: "test", ip: null, userAgent: null };
const SUITES = "basic copymove props locks http";

describe.each(DRIVER_SETS)("litmus on $label", ({ drivers }) => {
  let app: TestApp;
  let ada: Person;
  let token: string;

  beforeAll(async () => {
    app = await startTestApp(drivers);
    ada = await registerPerson(app, "Ada", "ada-litmus@example.com");
    token = (
      await createToken(app.services, { id: ada.id, role: "USER" }, { name: "litmus", scopes: ["files:write"], expiresAt: null }, actor)
    ).secret;
  });

  afterAll(async () => {
    await app?.close();
  });

  it("passes basic, copymove, props, locks and http with no failure and no warning", async () => {
    // litmus writes its debug.log into the working directory.
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-litmus-"));
    const result = await run("litmus", ["--keep-going", `${app.url}/dav/`, ada.email, token], {
      cwd,
      env: { ...process.env, TESTS: SUITES },
      timeout: 120_000,
    }).catch((error: { stdout?: string; stderr?: string }) => ({ stdout: error.stdout ?? "", stderr: error.stderr ?? "" }));
    const output = `${result.stdout}${result.stderr}`;
    const summaries = output.split("\n").filter((line) => line.startsWith("<- summary"));
    console.log(`litmus (${drivers.storage}, ${drivers.cache}):\n${summaries.join("\n")}`);
    expect(summaries, output).toHaveLength(SUITES.split(" ").length);
    for (const summary of summaries) expect(summary, output).toMatch(/ 0 failed\./);
    expect(output, output).not.toMatch(/WARNING|FAIL/);
  });
});
