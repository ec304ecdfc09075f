#!/usr/bin/env node
// Markdown summary of a coverage run (coverage/coverage-summary.json, vitest's json-summary), for
// the CI job summary: all of app/, server code (the enforced part), and the ten least-covered
// server files.   node scripts/coverage/summary.mjs [coverage-dir]
import fs from "node:fs";
import path from "node:path";
import { isServerCode } from "./server-code.mjs";

const dir = path.resolve(process.argv[2] ?? "coverage");
const read = (name) => {
  const file = path.join(dir, name);
  return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : undefined;
};
const summary = read("coverage-summary.json");
if (!summary) {
  console.log(`### Coverage\n\nNo coverage report in ${path.relative(process.cwd(), dir) || "."} (the run stopped before it).`);
  process.exit(0);
}
const withoutBuild = read("coverage-without-build.json");
const root = process.cwd();
const files = Object.entries(summary).filter(([file]) => file !== "total");

function totals(entries) {
  const sum = { lines: [0, 0], branches: [0, 0], statements: [0, 0], functions: [0, 0] };
  for (const [, figures] of entries) {
    for (const key of Object.keys(sum)) {
      sum[key][0] += figures[key].covered;
      sum[key][1] += figures[key].total;
    }
  }
  return sum;
}
const pct = ([covered, total]) => (total === 0 ? "100.00" : ((100 * covered) / total).toFixed(2));
const row = (name, sum) =>
  `| ${name} | ${pct(sum.lines)} % | ${pct(sum.branches)} % | ${pct(sum.statements)} % | ${pct(sum.functions)} % | ${sum.lines[1]} |`;

const server = files.filter(([file]) => isServerCode(path.relative(root, file)));
const lines = [
  "### Coverage",
  "",
  "| Scope | Lines | Branches | Statements | Functions | Lines counted |",
  "| --- | ---: | ---: | ---: | ---: | ---: |",
  row("all of `app/`", totals(files)),
  row("**server code** (enforced: thresholds in vitest.config.ts)", totals(server)),
];
if (withoutBuild) {
  const serverWithout = Object.entries(withoutBuild).filter(([file]) => isServerCode(path.relative(root, file)));
  lines.push(row("server code, without the production build's coverage", totals(serverWithout)));
}
const least = server
  .filter(([, figures]) => figures.lines.total > 0)
  .sort(([, a], [, b]) => a.lines.total - a.lines.covered - (b.lines.total - b.lines.covered))
  .reverse()
  .slice(0, 10);
lines.push(
  "",
  "Server files with the most uncovered lines:",
  "",
  "| File | Lines | Branches | Uncovered lines |",
  "| --- | ---: | ---: | ---: |",
  ...least.map(
    ([file, figures]) =>
      `| \`${path.relative(root, file)}\` | ${figures.lines.pct} % | ${figures.branches.pct} % | ${figures.lines.total - figures.lines.covered} |`,
  ),
);
console.log(lines.join("\n"));
