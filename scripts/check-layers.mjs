#!/usr/bin/env node
// The layer check: runs dependency-cruiser with .dependency-cruiser.cjs and fails on
//  - any violation not in the known-violations baseline (a new upward import, cycle, …), and
//  - any baseline entry that no longer occurs, so a fixed violation cannot quietly come back.
// `--shrink-baseline` drops the entries that no longer occur. It never adds one: the baseline
// only shrinks (see .dependency-cruiser.cjs).
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const baselineFile = path.join(root, ".dependency-cruiser-known-violations.json");
const shrink = process.argv.includes("--shrink-baseline");

function cruise() {
  const args = ["app", "server.ts", "--config", ".dependency-cruiser.cjs", "--ignore-known", baselineFile, "--output-type", "json"];
  try {
    return execFileSync(path.join(root, "node_modules/.bin/depcruise"), args, { cwd: root, encoding: "utf8", maxBuffer: 256 * 2 ** 20 });
  } catch (error) {
    // depcruise exits with the number of errors; the JSON on stdout is still complete.
    if (typeof error.stdout === "string" && error.stdout.startsWith("{")) return error.stdout;
    throw error;
  }
}
const output = cruise();
const { summary } = JSON.parse(output);

const key = (v) => [v.rule.name, v.from, v.to, ...(v.cycle ?? []).map((step) => step.name)].join(" ");
const describe = (v) => {
  const cycle = v.cycle?.length ? `\n      cycle: ${[v.from, ...v.cycle.map((step) => step.name)].join(" → ")}` : "";
  return `  ${v.rule.name}: ${v.from} → ${v.to}${cycle}`;
};

const known = JSON.parse(fs.readFileSync(baselineFile, "utf8"));
const stillThere = new Set(summary.violations.filter((v) => v.rule.severity === "ignore").map(key));
const fresh = summary.violations.filter((v) => v.rule.severity !== "ignore");
const gone = known.filter((v) => !stillThere.has(key(v)));

if (shrink) {
  fs.writeFileSync(
    baselineFile,
    `${JSON.stringify(
      known.filter((v) => stillThere.has(key(v))),
      null,
      2,
    )}\n`,
  );
  console.log(`layers: baseline shrunk by ${gone.length}, ${known.length - gone.length} known violations left.`);
}

const byRule = {};
for (const v of known) if (stillThere.has(key(v))) byRule[v.rule.name] = (byRule[v.rule.name] ?? 0) + 1;
let failed = false;
if (fresh.length > 0) {
  failed = true;
  console.error(`layers: ${fresh.length} new violation(s) of the layer rules (.dependency-cruiser.cjs):\n`);
  for (const v of fresh) console.error(describe(v));
  console.error("\nFix the import. Do not add it to .dependency-cruiser-known-violations.json: that list only shrinks.");
}
if (gone.length > 0 && !shrink) {
  failed = true;
  console.error(`layers: ${gone.length} known violation(s) are fixed; remove them from the baseline:`);
  for (const v of gone) console.error(describe(v));
  console.error("\nRun `npm run lint:layers:shrink` and commit .dependency-cruiser-known-violations.json.");
}
if (failed) process.exit(1);
const counts = Object.entries(byRule)
  .map(([rule, n]) => `${rule} ${n}`)
  .join(", ");
console.log(
  `layers: no new violations (${summary.totalCruised} modules, ${summary.totalDependenciesCruised} dependencies); known: ${counts || "none"}.`,
);
