// Prints the failed tests of a vitest JSON report (one line each, at most 30), so the summary at
// the end of `npm test` names them: CI keeps only the tail of a long log.
import fs from "node:fs";
import path from "node:path";

const file = process.argv[2];
if (!file || !fs.existsSync(file)) process.exit(0);
let report;
try {
  report = JSON.parse(fs.readFileSync(file, "utf8"));
} catch {
  console.log("     (the vitest report could not be read)");
  process.exit(0);
}
const failed = [];
for (const suite of report.testResults ?? []) {
  const where = path.relative(process.cwd(), suite.name);
  const tests = (suite.assertionResults ?? []).filter((test) => test.status === "failed");
  // A file that failed before its tests ran (a syntax error, a failed hook) has no failed test.
  if (tests.length === 0 && suite.status === "failed") failed.push(`${where}: ${(suite.message ?? "failed").split("\n")[0]}`);
  for (const test of tests) failed.push(`${where} > ${test.fullName}: ${(test.failureMessages?.[0] ?? "").split("\n")[0]}`);
}
for (const line of failed.slice(0, 30)) console.log(`     ✗ ${line.slice(0, 300)}`);
if (failed.length > 30) console.log(`     … and ${failed.length - 30} more`);
