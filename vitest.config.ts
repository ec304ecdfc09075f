import path from "node:path";
import { defineConfig } from "vitest/config";
import { SERVER_CODE_GLOB } from "./scripts/coverage/server-code.mjs";
import { SlowFirstSequencer } from "./tests/setup/slow-first-sequencer";

// Two lanes. `unit`: pure tests kept beside their module (app/**/*.test.ts[x]); no global setup,
// so no PostgreSQL, redis or Swift, and it runs in seconds (`npm run test:fast`). `integration`:
// the suites under tests/, which the global setup gives real services. `npx vitest run` runs both.
export default defineConfig({
  resolve: { alias: { "~": path.resolve(import.meta.dirname, "app") } },
  test: {
    pool: "forks",
    fileParallelism: true,
    // Three on two cores: a full run kept two workers' CPUs only about half busy (processes
    // starting, waits on PostgreSQL, Swift, rclone and child apps), so a third fills the gaps.
    maxWorkers: 3,
    sequence: { sequencer: SlowFirstSequencer },
    // Off unless asked for (`--coverage`): scripts/test.sh and scripts/ci/stage.sh ask, in the one
    // full run (docs/pipeline.md#coverage). Excluded: tests, the generated Prisma client, .d.ts.
    coverage: {
      // The v8 provider, also counting the production build the HTTP tests load (see the module).
      provider: "custom",
      customProviderModule: "scripts/coverage/provider.mjs",
      include: ["app/**/*.{ts,tsx}"],
      exclude: ["app/**/*.test.{ts,tsx}", "app/generated/**", "app/**/*.d.ts"],
      reporter: ["text-summary", "json-summary", "lcov"],
      reportsDirectory: "coverage",
      // Issue 17's targets, 90 % lines and 85 % branches on server code. A floor: raise it as
      // tests land, never lower it (the full run of 2026-12-06 measured 94.21 % and 85.19 %).
      thresholds: {
        [SERVER_CODE_GLOB]: { lines: 90, branches: 85 },
      },
    },
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["app/**/*.test.ts", "app/**/*.test.tsx"],
          testTimeout: 10_000,
        },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["tests/**/*.test.ts"],
          globalSetup: ["tests/setup/global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
