#!/usr/bin/env node
// The layer check (`npm run lint:layers`): runs dependency-cruiser with .dependency-cruiser.cjs
// and fails on
//  - any violation not in the known-violations baseline (a new upward import, cycle, …), and
//  - any baseline entry that no longer occurs, so a fixed violation cannot quietly come back.
//
// The baseline only shrinks:
//  --shrink-baseline  drops the entries that no longer occur; never adds one.
//  --rebaseline       after modules are moved or renamed (entries name paths), writes today's
//                     violations, but refuses if any rule would have more than before.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const baselineFile = path.join(root, ".dependency-cruiser-known-violations.json");
const mode = process.argv.includes("--rebaseline") ? "rebaseline" : process.argv.includes("--shrink-baseline") ? "shrink" : "check";

function depcruise(...args) {
  const argv = ["app", "server.ts", "--config", ".dependency-cruiser.cjs", ...args];
  try {
    return execFileSync(path.join(root, "node_modules/.bin/depcruise"), argv, { cwd: root, encoding: "utf8", maxBuffer: 256 * 2 ** 20 });
  } catch (error) {
    // depcruise exits with the number of errors; its output on stdout is still complete.
    if (typeof error.stdout === "string" && /^\s*[[{]/.test(error.stdout)) return error.stdout;
    throw error;
  }
}

const key = (v) => [v.rule.name, v.from, v.to, ...(v.cycle ?? []).map((step) => step.name)].join(" ");
const describe = (v) => {
  const cycle = v.cycle?.length ? `\n      cycle: ${[v.from, ...v.cycle.map((step) => step.name)].join(" → ")}` : "";
  return `  ${v.rule.name}: ${v.from} → ${v.to}${cycle}`;
};
const countByRule = (violations) => {
  const counts = {};
  for (const v of violations) counts[v.rule.name] = (counts[v.rule.name] ?? 0) + 1;
  return counts;
};
const showCounts = (counts) =>
  Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([rule, n]) => `${rule} ${n}`)
    .join(", ") || "none";
const write = (violations) => fs.writeFileSync(baselineFile, `${JSON.stringify(violations, null, 2)}\n`);

const known = JSON.parse(fs.readFileSync(baselineFile, "utf8"));

if (mode === "rebaseline") {
  const today = JSON.parse(depcruise("--output-type", "baseline"));
  const before = countByRule(known);
  const after = countByRule(today);
  const grown = Object.keys(after).filter((rule) => after[rule] > (before[rule] ?? 0));
  if (grown.length > 0) {
    console.error(`layers: not rebaselined: more violations of ${grown.join(", ")} than the baseline has.`);
    console.error(`  baseline: ${showCounts(before)}\n  today:    ${showCounts(after)}`);
    process.exit(1);
  }
  write(today);
  console.log(`layers: rebaselined. before: ${showCounts(before)}\n                     after:  ${showCounts(after)}`);
  process.exit(0);
}

const { summary } = JSON.parse(depcruise("--ignore-known", baselineFile, "--output-type", "json"));
const stillThere = new Set(summary.violations.filter((v) => v.rule.severity === "ignore").map(key));
const fresh = summary.violations.filter((v) => v.rule.severity !== "ignore");
const gone = known.filter((v) => !stillThere.has(key(v)));
const remaining = known.filter((v) => stillThere.has(key(v)));

if (mode === "shrink") {
  write(remaining);
  console.log(`layers: baseline shrunk by ${gone.length}, ${remaining.length} known violations left.`);
}

let failed = false;
if (fresh.length > 0) {
  failed = true;
  console.error(`layers: ${fresh.length} new violation(s) of the layer rules (.dependency-cruiser.cjs):\n`);
  for (const v of fresh) console.error(describe(v));
  console.error("\nFix the import. Do not add it to .dependency-cruiser-known-violations.json: that list only shrinks.");
}
if (gone.length > 0 && mode !== "shrink") {
  failed = true;
  console.error(`layers: ${gone.length} known violation(s) are fixed; remove them from the baseline:`);
  for (const v of gone) console.error(describe(v));
  console.error("\nRun `npm run lint:layers:shrink` and commit .dependency-cruiser-known-violations.json.");
}
if (failed) process.exit(1);
console.log(
  `layers: no new violations (${summary.totalCruised} modules, ${summary.totalDependenciesCruised} dependencies); ` +
    `known: ${showCounts(countByRule(remaining))}.`,
);
