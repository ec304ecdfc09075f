// The browser-side (e2e) coverage report (docs/pipeline.md#browser-coverage): raw V8 coverage of
// a minified bundle, recorded for real by V8 (node's, in a child process: the same engine as
// Chromium), goes through scripts/coverage/e2e-report.mjs with the bundle's hidden source map and
// must come out as the covered and uncovered lines of the app/ source it was built from.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { e2eCoverageMap, markdownSummary, writeE2eCoverageReport } from "../../scripts/coverage/e2e-report.mjs";

/** The part of Istanbul's file coverage (istanbul-lib-coverage has no types) these tests read. */
interface FileCoverageData {
  fnMap: Record<string, { decl: { start: { line: number } } }>;
  f: Record<string, number>;
  b: Record<string, number[]>;
}

const ROOT = path.resolve(import.meta.dirname, "../..");
const run = promisify(execFile);

const WIDGET = `import { shout } from "fake-dep";

export function label(count: number): string {
  if (count > 1) {
    return \`\${count} files\`;
  }
  return "one file";
}

export function neverCalled(text: string): string {
  const trimmed = text.trim();
  return shout(trimmed);
}

(globalThis as Record<string, unknown>).widget = { result: label(3), neverCalled };
`;
const OTHER = `export function unused(value: number): number {
  return value * 2;
}
(globalThis as Record<string, unknown>).other = unused;
`;

/** Lines of WIDGET (1-based) by what they hold. */
const line = (text: string) => WIDGET.split("\n").findIndex((row) => row.includes(text)) + 1;

/** Runs `file` as a script named `url` under V8's precise coverage in a fresh node; returns V8's result for it. */
async function recordCoverage(file: string, url: string) {
  const script = `
    import { Session } from "node:inspector/promises";
    import fs from "node:fs";
    import vm from "node:vm";
    const session = new Session();
    session.connect();
    await session.post("Profiler.enable");
    await session.post("Profiler.startPreciseCoverage", { callCount: true, detailed: true });
    new vm.Script(fs.readFileSync(${JSON.stringify(file)}, "utf8"), { filename: ${JSON.stringify(url)} }).runInThisContext();
    const { result } = await session.post("Profiler.takePreciseCoverage");
    process.stdout.write(JSON.stringify(result.filter((script) => script.url === ${JSON.stringify(url)})));
  `;
  const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script]);
  return JSON.parse(stdout) as { url: string; scriptId: string; functions: unknown[] }[];
}

/** A checkout in miniature: app/ sources, a dependency, the minified client build with its maps moved aside. */
async function miniatureBuild() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-e2e-coverage-"));
  const write = (file: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), text);
  };
  write("app/components/widget.ts", WIDGET);
  write("app/components/other.ts", OTHER);
  write("node_modules/fake-dep/index.js", "export function shout(text) {\n  return text.toUpperCase();\n}\n");
  const paths = {
    root,
    rawDir: path.join(root, "coverage-e2e/raw"),
    assetsDir: path.join(root, "build/client/assets"),
    mapsDir: path.join(root, "build/client-sourcemaps/assets"),
    outDir: path.join(root, "coverage-e2e"),
  };
  for (const [entry, name] of [
    ["app/components/widget.ts", "widget-C0ffee12.js"],
    ["app/components/other.ts", "other-Dead0001.js"],
  ]) {
    await build({
      entryPoints: [path.join(root, entry)],
      outfile: path.join(paths.assetsDir, name),
      absWorkingDir: root,
      bundle: true,
      minify: true,
      format: "iife",
      sourcemap: "external",
      logLevel: "silent",
    });
    fs.mkdirSync(paths.mapsDir, { recursive: true });
    fs.renameSync(path.join(paths.assetsDir, `${name}.map`), path.join(paths.mapsDir, `${name}.map`));
  }
  return paths;
}

describe("the e2e coverage report", () => {
  it("maps V8 counts of a minified script to the app/ lines that ran, twice over two pages, and the rest to 0", async () => {
    const paths = await miniatureBuild();
    const widget = path.join(paths.assetsDir, "widget-C0ffee12.js");
    expect(fs.readFileSync(widget, "utf8")).not.toMatch(/sourceMappingURL/);
    // Two pages loaded the widget, one from each address the specs use; none loaded the other script.
    fs.mkdirSync(paths.rawDir, { recursive: true });
    for (const [index, origin] of ["http://127.0.0.1:3293", "http://localhost:3293"].entries()) {
      const result = await recordCoverage(widget, `${origin}/assets/widget-C0ffee12.js`);
      expect(result).toHaveLength(1);
      fs.writeFileSync(path.join(paths.rawDir, `js-w0-1-${index}.json`), JSON.stringify({ result }));
    }

    const { coverageMap, pages, scripts } = await e2eCoverageMap(paths);
    expect({ pages, scripts }).toEqual({ pages: 2, scripts: 1 });
    const files = coverageMap.files().map((file: string) => path.relative(paths.root, file));
    // The dependency bundled into the widget is not app code.
    expect(files.sort()).toEqual(["app/components/other.ts", "app/components/widget.ts"]);

    const widgetFile = coverageMap.fileCoverageFor(path.join(paths.root, "app/components/widget.ts"));
    const widgetCoverage = widgetFile.toJSON() as FileCoverageData;
    const hits = widgetFile.getLineCoverage();
    // The minifier made label's if/else one conditional expression: its line, its branches.
    expect(hits[line("if (count > 1)")]).toBe(2);
    expect(Object.values(widgetCoverage.b)).toEqual([[2, 0]]);
    expect(hits[line("const trimmed")]).toBe(0);
    expect(hits[line("return shout(trimmed)")]).toBe(0);
    expect(hits[line("widget = {")]).toBe(2);
    // Functions by the line they start on (their names are the minifier's).
    const calls = Object.fromEntries(Object.entries(widgetCoverage.fnMap).map(([id, fn]) => [fn.decl.start.line, widgetCoverage.f[id]]));
    expect(calls).toEqual({ [line("function label")]: 2, [line("function neverCalled")]: 0 });
    const other = coverageMap.fileCoverageFor(path.join(paths.root, "app/components/other.ts")).toSummary();
    expect(other.lines.total).toBeGreaterThan(0);
    expect(other.lines.covered).toBe(0);

    const logged: string[] = [];
    const summary = await writeE2eCoverageReport(paths, { log: (text: string) => logged.push(text) });
    expect(fs.existsSync(path.join(paths.outDir, "lcov.info"))).toBe(true);
    const widgetLines = summary[path.join(paths.root, "app/components/widget.ts")].lines;
    expect(widgetLines.covered).toBeGreaterThan(0);
    expect(widgetLines.covered).toBeLessThan(widgetLines.total);
    expect(logged.join("\n")).toMatch(
      /e2e coverage of the client code \(2 pages, 1 scripts run;[^\n]*\n\s+client code in app\/\s+lines\s+\d+\.\d\d %/,
    );
    const table = markdownSummary(summary, paths.root);
    expect(table).toContain("| `app/components/` |");
    expect(table).toMatch(/\| `app\/routes\/` \(their client part\) \| 100\.00 % \|.*\| 0 \|/);
    fs.rmSync(paths.root, { recursive: true, force: true });
  });

  it("says there is nothing to report when no js spec ran", async () => {
    const logged: string[] = [];
    const missing = path.join(os.tmpdir(), "coffer-no-such-dir");
    const summary = await writeE2eCoverageReport(
      { root: ROOT, rawDir: missing, assetsDir: missing, mapsDir: missing, outDir: missing },
      { log: (text: string) => logged.push(text) },
    );
    expect(summary).toBeUndefined();
    expect(logged.join("")).toMatch(/nothing to report/);
    expect(markdownSummary(undefined)).toMatch(/No e2e coverage report/);
  });

  it("records every js spec: they take `test` from e2e/support/test.ts, whose fixture records the coverage", () => {
    const specs = fs
      .readdirSync(path.join(ROOT, "e2e"), { recursive: true, encoding: "utf8" })
      .filter((file) => path.basename(file) === "js.spec.ts")
      .map((file) => path.join("e2e", file));
    expect(specs.length).toBeGreaterThan(10);
    for (const spec of specs) {
      const text = fs.readFileSync(path.join(ROOT, spec), "utf8");
      expect(text, spec).toMatch(/import \{ (expect, )?test \} from "(\.\.?\/)+support\/test";/);
      expect(text, spec).not.toMatch(/import \{[^}]*\btest\b[^}]*\} from "@playwright\/test"/);
    }
  });
});
