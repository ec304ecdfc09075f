import { defineConfig } from "@playwright/test";
import { BASE_URL, E2E_PG_PORT, E2E_PORT } from "./e2e/support/env";

/**
 * End-to-end tests in Debian Chromium against the production build (`npm test` builds first;
 * this config never builds). One server on a fresh data directory serves both projects.
 */
export default defineConfig({
  testDir: "e2e",
  // The suites share one server and the CI machines have two cores.
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: process.env.CI ? 1 : 0,
  reporter: "list",
  timeout: 60_000,
  expect: { timeout: 10_000 },
  globalSetup: "./e2e/support/global-setup.ts",
  // Prints the browser-side coverage the js project recorded (e2e/support/coverage.ts).
  globalTeardown: "./e2e/support/global-teardown.ts",
  outputDir: "test-results",
  use: {
    baseURL: BASE_URL,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
      ],
    },
  },
  projects: [
    {
      name: "js",
      testMatch: /(^|[\\/])js\.spec\.ts$/,
      testIgnore: /docs-screenshots/,
      use: { browserName: "chromium" },
    },
    {
      // The guides' screenshots, kept in docs/images/guide (e2e/docs-screenshots/js.spec.ts).
      name: "docs",
      testMatch: /docs-screenshots[\\/]js\.spec\.ts$/,
      snapshotPathTemplate: "docs/images/guide/{arg}{ext}",
      use: { browserName: "chromium" },
    },
    {
      name: "no-js",
      testMatch: /(^|[\\/])no-js\.spec\.ts$/,
      use: { browserName: "chromium", javaScriptEnabled: false },
    },
  ],
  webServer: {
    command: "bash e2e/support/start-server.sh",
    env: { E2E_PORT: String(E2E_PORT), E2E_PG_PORT: String(E2E_PG_PORT) },
    url: `${BASE_URL}/healthz`,
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: "pipe",
    stderr: "pipe",
    gracefulShutdown: { signal: "SIGTERM", timeout: 20_000 },
  },
});
