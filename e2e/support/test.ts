import { test as base } from "@playwright/test";
import { coverageWanted, recordCoverage } from "./coverage";

export { expect } from "@playwright/test";

/**
 * Playwright's `test` with the browser coverage recorder on every worker of the `js` project (a
 * worker-scoped auto fixture, so it also sees the pages specs open in beforeAll). Specs of the js
 * project import `test` from here; tests/deploy/e2e-coverage.test.ts checks that they do.
 */
export const test = base.extend<object, { browserCoverage: undefined }>({
  browserCoverage: [
    async ({ browser, browserName }, use, workerInfo) => {
      const javaScript = workerInfo.project.use.javaScriptEnabled !== false;
      if (!coverageWanted() || !javaScript || browserName !== "chromium") {
        await use(undefined);
        return;
      }
      const stop = recordCoverage(browser, `${workerInfo.project.name}-w${workerInfo.workerIndex}`);
      await use(undefined);
      await stop();
    },
    { scope: "worker", auto: true },
  ],
});
