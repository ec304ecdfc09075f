/**
 * `npm run migrations:check`: the static half of the expand/contract gate, for a developer before
 * a commit. The migrations added since the previous release (deploy/releases.json) must not drop,
 * rename or tighten what that release uses; tests/deploy/migration-gate.test.ts runs this and the
 * dynamic half (docs/rollback.md).
 */
import path from "node:path";
import { readPreviousRelease } from "./migration-gate/release-marker";
import { checkMigrationsSince } from "./migration-gate/static-check";

const repo = path.resolve(import.meta.dirname, "..");

async function main() {
  const release = readPreviousRelease(repo);
  const report = await checkMigrationsSince(repo, release, path.join(repo, "prisma", "migrations"));
  console.log(`Migrations since release ${release.version}: ${report.added.length === 0 ? "none" : report.added.join(", ")}`);
  for (const { migration, expand, change } of report.contracted) console.log(`contract ${migration} (after ${expand}): ${change.reason}`);
  if (report.problems.length > 0) {
    console.error(`\nNot expand-only:\n${report.problems.map((problem) => `  ${problem}`).join("\n")}`);
    process.exit(1);
  }
  console.log("Expand-only: the previous release keeps working on the new schema.");
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
