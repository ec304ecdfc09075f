import { appendFileSync } from "node:fs";
import { markdownSummary, writeE2eCoverageReport } from "../../scripts/coverage/e2e-report.mjs";
import { coverageWanted } from "./coverage";

/**
 * Prints the browser-side coverage of the run (what Chromium executed of the client build, mapped
 * to app/) and, in GitHub Actions, adds it to the job summary. A report only: it never fails the run.
 */
export default async function globalTeardown() {
  if (!coverageWanted()) return;
  try {
    const summary = await writeE2eCoverageReport();
    if (process.env.GITHUB_STEP_SUMMARY) appendFileSync(process.env.GITHUB_STEP_SUMMARY, `${markdownSummary(summary)}\n`);
  } catch (error) {
    console.error("e2e coverage: the report failed:", error);
  }
}
