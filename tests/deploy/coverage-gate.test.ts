// The coverage gate (docs/pipeline.md#coverage): vitest fails when server code is below the
// thresholds of vitest.config.ts and not for code outside it; the job summary's figures; the
// fold that adds the production build's hits onto the sources' own structure.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { foldHits } from "../../scripts/coverage/fold-hits.mjs";
import { isServerCode } from "../../scripts/coverage/server-code.mjs";

const ROOT = path.resolve(import.meta.dirname, "../..");
const run = promisify(execFile);
const scratch = () => fs.mkdtempSync(path.join(os.tmpdir(), "coffer-coverage-"));

/** A nested vitest run of one pure unit test, with coverage counted over `include` only. */
async function coverageRun(include: string) {
  const reports = scratch();
  // The nested run is a run of its own, not a worker of this one.
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" };
  for (const name of Object.keys(env)) if (name.startsWith("VITEST")) delete env[name];
  const args = ["node_modules/vitest/vitest.mjs", "run", "--project", "unit", "app/domain/time-cursor.test.ts", "--coverage"];
  args.push(`--coverage.include=${include}`, `--coverage.reportsDirectory=${reports}`);
  try {
    const { stdout, stderr } = await run(process.execPath, args, { cwd: ROOT, env });
    return { code: 0, output: stdout + stderr, reports };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, output: failed.stdout + failed.stderr, reports };
  }
}

describe("the coverage gate", () => {
  it("fails the run when server code is below the thresholds (planted: a server module the run's one test never touches)", async () => {
    const result = await coverageRun("app/server/tls.server.ts");
    expect(result.output).toMatch(/ERROR: Coverage for lines \(0%\) does not meet ".*app\/server.*" threshold/);
    expect(result.output).toMatch(/ERROR: Coverage for branches \(0%\) does not meet/);
    expect(result.code).toBe(1);
  });

  it("passes for code outside server code and writes the reports", async () => {
    const result = await coverageRun("app/domain/time-cursor.ts");
    expect(result.output).not.toMatch(/does not meet/);
    expect(result.code).toBe(0);
    expect(fs.existsSync(path.join(result.reports, "lcov.info"))).toBe(true);
    const summary = JSON.parse(fs.readFileSync(path.join(result.reports, "coverage-summary.json"), "utf8"));
    expect(summary.total.lines.pct).toBe(100);
  });

  it("counts as server code exactly the three globs of the thresholds", () => {
    expect(isServerCode("app/domain/files/trash.server.ts")).toBe(true);
    expect(isServerCode("app/server/csrf.server.ts")).toBe(true);
    expect(isServerCode("app/server/any-helper.ts")).toBe(true);
    expect(isServerCode("app/services/storage/index.ts")).toBe(true);
    expect(isServerCode("app/routes/files.tsx")).toBe(false);
    expect(isServerCode("app/domain/time-cursor.ts")).toBe(false);
    expect(isServerCode("server.ts")).toBe(false);
  });
});

describe("scripts/coverage/summary.mjs", () => {
  it("writes server code's figures apart from the rest, and without the build's share", async () => {
    const dir = scratch();
    const figures = (covered: number, total: number) => {
      const part = { covered, total, skipped: 0, pct: (100 * covered) / total };
      return { lines: part, branches: part, statements: part, functions: part };
    };
    const summary = {
      total: figures(0, 1),
      [path.join(ROOT, "app/server/a.server.ts")]: figures(9, 10),
      [path.join(ROOT, "app/services/b.ts")]: figures(7, 10),
      [path.join(ROOT, "app/routes/c.tsx")]: figures(0, 30),
    };
    fs.writeFileSync(path.join(dir, "coverage-summary.json"), JSON.stringify(summary));
    const withoutBuild = { ...summary, [path.join(ROOT, "app/server/a.server.ts")]: figures(1, 10) };
    fs.writeFileSync(path.join(dir, "coverage-without-build.json"), JSON.stringify(withoutBuild));

    const { stdout } = await run(process.execPath, ["scripts/coverage/summary.mjs", dir], { cwd: ROOT });
    expect(stdout).toContain("| all of `app/` | 32.00 % | 32.00 % | 32.00 % | 32.00 % | 50 |");
    expect(stdout).toMatch(/\| \*\*server code\*\*[^|]*\| 80\.00 % \| 80\.00 % \| 80\.00 % \| 80\.00 % \| 20 \|/);
    expect(stdout).toMatch(/\| server code, without the production build's coverage \| 40\.00 % \|/);
    // Most uncovered lines first.
    expect(stdout.indexOf("app/services/b.ts")).toBeLessThan(stdout.indexOf("app/server/a.server.ts"));
    expect(stdout).not.toContain("app/routes/c.tsx`");
  });

  it("says so when the run left no report", async () => {
    const { stdout } = await run(process.execPath, ["scripts/coverage/summary.mjs", scratch()], { cwd: ROOT });
    expect(stdout).toContain("No coverage report");
  });
});

describe("folding the build's hits into a source file's coverage", () => {
  const position = (line: number, column: number) => ({ line, column });
  const span = (line: number, column: number) => ({ start: position(line, column), end: position(line, column + 5) });

  it("adds hits to the item starting on the same line, nearest column, and never adds items", () => {
    const target = {
      data: {
        statementMap: { 0: span(1, 0), 1: span(1, 20), 2: span(2, 2) },
        s: { 0: 1, 1: 0, 2: 0 },
        fnMap: { 0: { name: "f", decl: span(3, 9), loc: span(3, 0), line: 3 } },
        f: { 0: 0 },
        branchMap: { 0: { type: "if", loc: span(4, 2), locations: [span(4, 2), span(6, 2)], line: 4 } },
        b: { 0: [0, 2] },
      },
    };
    const source = {
      data: {
        // Column 18 is nearest to the target's statement at column 20; line 9 has no counterpart.
        statementMap: { 0: span(1, 18), 1: span(2, 2), 2: span(9, 0) },
        s: { 0: 3, 1: 0, 2: 7 },
        fnMap: { 0: { name: "f", decl: span(3, 10), loc: span(3, 1), line: 3 } },
        f: { 0: 4 },
        // A one-armed branch on line 4 does not fit the target's two-armed one.
        branchMap: {
          0: { type: "if", loc: span(4, 2), locations: [span(4, 2), span(6, 2)], line: 4 },
          1: { type: "cond-expr", loc: span(4, 3), locations: [span(4, 3)], line: 4 },
        },
        b: { 0: [5, 0], 1: [9] },
      },
    };

    foldHits(target, source);

    expect(target.data.s).toEqual({ 0: 1, 1: 3, 2: 0 });
    expect(Object.keys(target.data.statementMap)).toHaveLength(3);
    expect(target.data.f).toEqual({ 0: 4 });
    expect(target.data.b).toEqual({ 0: [5, 2] });
  });
});
