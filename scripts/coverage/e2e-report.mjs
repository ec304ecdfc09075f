#!/usr/bin/env node
// The browser-side coverage of the end-to-end run: what Chromium executed of the client build,
// mapped back to app/ through the client build's hidden source maps. A report, not a gate.
//
// e2e/support/coverage.ts saves Chromium's precise coverage (raw V8, counts only) of every page
// the js specs open in coverage-e2e/raw/. This merges the counts per script of build/client/assets,
// converts each script with its map (build/client-sourcemaps, moved there by vite.config.ts so it
// is never served) into Istanbul coverage of the app/ files it came from, and writes json-summary
// and lcov (with HTML) into coverage-e2e/. Scripts no page loaded count as not run at all, so
// code no spec reaches shows as uncovered rather than vanishing. docs/decisions/0029.
//
//   node scripts/coverage/e2e-report.mjs [--markdown]   (the global teardown runs the first form)
import { existsSync, promises as fs } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { mergeScriptCovs } from "@bcoe/v8-coverage";
import { convert } from "ast-v8-to-istanbul";
import libCoverage from "istanbul-lib-coverage";
import libReport from "istanbul-lib-report";
import reports from "istanbul-reports";
import { parseAstAsync } from "vite";

const ROOT = path.resolve(import.meta.dirname, "../..");

export const E2E_COVERAGE_PATHS = {
  root: ROOT,
  rawDir: path.join(ROOT, "coverage-e2e/raw"),
  assetsDir: path.join(ROOT, "build/client/assets"),
  mapsDir: path.join(ROOT, "build/client-sourcemaps/assets"),
  outDir: path.join(ROOT, "coverage-e2e"),
};

/** The scopes the summary lists; the first is the report's scope, the others parts of it. */
const SCOPES = [
  ["client code in `app/`", "app/"],
  ["`app/components/`", "app/components/"],
  ["`app/routes/` (their client part)", "app/routes/"],
];

/** A file of app/ (not a dependency, not a virtual module such as `tailwind.css?url`). */
const inApp = (root) => (file) =>
  file.startsWith(path.join(root, "app") + path.sep) &&
  !file.includes(`${path.sep}node_modules${path.sep}`) &&
  /\.[cm]?[jt]sx?$/.test(file);

/** Raw V8 script coverage from every file in rawDir, merged per client script (by its name under /assets/). */
async function mergedCounts(rawDir) {
  const merged = new Map();
  const names = existsSync(rawDir) ? (await fs.readdir(rawDir)).filter((name) => name.endsWith(".json")) : [];
  for (const name of names) {
    const { result } = JSON.parse(await fs.readFile(path.join(rawDir, name), "utf8"));
    for (const script of result) {
      // The same script reached as 127.0.0.1 and as localhost is one script. Merged as read: one
      // page's counts at a time in memory, not the whole run's.
      const asset = path.basename(new URL(script.url).pathname);
      const counts = { ...script, url: asset, scriptId: "0" };
      const before = merged.get(asset);
      merged.set(asset, before ? mergeScriptCovs([before, counts]) : counts);
    }
  }
  return { merged, pages: names.length };
}

/** Coverage of a script no page loaded: one range over all of it, run zero times. */
const notRun = (code) => [{ functionName: "", isBlockCoverage: true, ranges: [{ startOffset: 0, endOffset: code.length, count: 0 }] }];

/**
 * Builds the Istanbul coverage map of the app/ files in the client build from the raw coverage.
 * `root` is the checkout whose app/ is reported (the map's sources are relative to it).
 */
export async function e2eCoverageMap({ root = ROOT, rawDir, assetsDir, mapsDir }) {
  const { merged, pages } = await mergedCounts(rawDir);
  const coverageMap = libCoverage.createCoverageMap({});
  const wanted = inApp(root);
  const scripts = (await fs.readdir(assetsDir)).filter((name) => name.endsWith(".js"));
  for (const name of scripts) {
    const mapFile = path.join(mapsDir, `${name}.map`);
    if (!existsSync(mapFile)) continue;
    const sourceMap = JSON.parse(await fs.readFile(mapFile, "utf8"));
    // The map sits as deep under mapsDir as the script under assetsDir: its relative sources resolve alike.
    const scriptFile = path.join(assetsDir, name);
    if (!sourceMap.sources.some((source) => wanted(path.resolve(assetsDir, source)))) continue;
    const code = await fs.readFile(scriptFile, "utf8");
    const data = await convert({
      code,
      ast: parseAstAsync(code),
      wrapperLength: 0,
      coverage: { url: pathToFileURL(scriptFile).href, functions: merged.get(name)?.functions ?? notRun(code) },
      sourceMap,
    });
    for (const [file, fileCoverage] of Object.entries(data)) if (wanted(file)) coverageMap.merge({ [file]: fileCoverage });
  }
  return { coverageMap, pages, scripts: merged.size };
}

/** Totals of the files under `prefix` (relative to root) in a json-summary object. */
export function scopeTotals(summary, root, prefix) {
  const sum = { lines: [0, 0], branches: [0, 0], statements: [0, 0], functions: [0, 0] };
  for (const [file, figures] of Object.entries(summary)) {
    if (file === "total" || !path.relative(root, file).startsWith(prefix)) continue;
    for (const key of Object.keys(sum)) {
      sum[key][0] += figures[key].covered;
      sum[key][1] += figures[key].total;
    }
  }
  return sum;
}

const pct = ([covered, total]) => (total === 0 ? "100.00" : ((100 * covered) / total).toFixed(2));

/** The job summary's table (Markdown), from coverage-e2e/coverage-summary.json. */
export function markdownSummary(summary, root = ROOT) {
  if (!summary) return "### Browser coverage (e2e)\n\nNo e2e coverage report (no js spec ran, or E2E_COVERAGE=0).";
  const row = (label, sum) =>
    `| ${label} | ${pct(sum.lines)} % | ${pct(sum.branches)} % | ${pct(sum.statements)} % | ${pct(sum.functions)} % | ${sum.lines[1]} |`;
  return [
    "### Browser coverage (e2e)",
    "",
    "What Chromium ran of the client build during the js specs, mapped to `app/` (a report, no threshold).",
    "",
    "| Scope | Lines | Branches | Statements | Functions | Lines counted |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
    ...SCOPES.map(([label, prefix]) => row(label, scopeTotals(summary, root, prefix))),
  ].join("\n");
}

/** Converts, writes json-summary and lcov (HTML included) into outDir, and prints the figures. */
export async function writeE2eCoverageReport(paths = E2E_COVERAGE_PATHS, { log = console.log } = {}) {
  const started = Date.now();
  if (!existsSync(paths.rawDir) || !existsSync(paths.mapsDir)) {
    log(
      `e2e coverage: nothing to report (no raw coverage in ${path.relative(process.cwd(), paths.rawDir)} or no client source maps: run npm run build)`,
    );
    return undefined;
  }
  const { coverageMap, pages, scripts } = await e2eCoverageMap(paths);
  await fs.rm(path.join(paths.outDir, "lcov-report"), { recursive: true, force: true });
  const context = libReport.createContext({ dir: paths.outDir, coverageMap, defaultSummarizer: "nested" });
  for (const name of ["json-summary", "lcov"]) reports.create(name).execute(context);
  const summary = JSON.parse(await fs.readFile(path.join(paths.outDir, "coverage-summary.json"), "utf8"));
  const lines = SCOPES.map(([label, prefix]) => {
    const sum = scopeTotals(summary, paths.root, prefix);
    return `  ${label.replaceAll("`", "").padEnd(36)} lines ${pct(sum.lines).padStart(6)} %  branches ${pct(sum.branches).padStart(6)} %  functions ${pct(sum.functions).padStart(6)} %`;
  });
  log(
    [
      `e2e coverage of the client code (${pages} pages, ${scripts} scripts run; ${Date.now() - started} ms; report in ${path.relative(process.cwd(), paths.outDir)}/):`,
      ...lines,
    ].join("\n"),
  );
  return summary;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  if (process.argv.includes("--markdown")) {
    const file = path.join(E2E_COVERAGE_PATHS.outDir, "coverage-summary.json");
    console.log(markdownSummary(existsSync(file) ? JSON.parse(await fs.readFile(file, "utf8")) : undefined));
  } else {
    await writeE2eCoverageReport();
  }
}
