import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * The files that take longest (seconds of a full run on 2 cores, 2026-12-07), started first.
 * Vitest orders a run it has no cached durations for (every CI run: a clean clone) by file size,
 * and these are short files that drive long work (rclone over 1,000 files, the API contract
 * through tests/api-contract/): they started last and ran alone for minutes while the other
 * workers had nothing left. Started first, the many short files fill in around them. A file
 * missing from the list only loses this head start; keep the few longest here.
 */
const SLOWEST_FIRST = [
  "tests/webdav-rclone.test.ts",
  "tests/api-contract.http.test.ts",
  "tests/backup-faults.test.ts",
  "tests/events-load.test.ts",
  "tests/storage.contract.test.ts",
  "tests/pitr.test.ts",
  "tests/storage-tiers.test.ts",
  "tests/dedup.test.ts",
  "tests/faults/shutdown.test.ts",
  "tests/webdav-litmus.test.ts",
  "tests/trash-bulk.test.ts",
  "tests/backup-restore.test.ts",
  "tests/module-graph.test.ts",
  "tests/backup-prune.test.ts",
  "tests/zip.test.ts",
  "tests/storage-check.test.ts",
  "tests/privacy.test.ts",
  "tests/monitoring/rules.test.ts",
  "tests/faults/webhook-kill.test.ts",
  "tests/job-queue.test.ts",
  "tests/faults/database.test.ts",
  "tests/deploy/rolling-restart.test.ts",
];

function rank(spec: TestSpecification): number {
  const index = SLOWEST_FIRST.findIndex((file) => spec.moduleId.endsWith(`/${file}`));
  return index === -1 ? SLOWEST_FIRST.length : index;
}

export class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    // Stable: files off the list keep the base order among themselves.
    return sorted
      .map((spec, position) => ({ spec, position, rank: rank(spec) }))
      .sort((a, b) => a.rank - b.rank || a.position - b.position)
      .map(({ spec }) => spec);
  }
}
