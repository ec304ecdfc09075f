import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Browser, BrowserContext, Page } from "@playwright/test";

/**
 * Chromium's precise JS coverage of every page the js specs open, one raw V8 file per page in
 * coverage-e2e/raw/; the global teardown maps it onto app/ (scripts/coverage/e2e-report.mjs,
 * docs/decisions/0029). E2E_COVERAGE=0 turns it off.
 */
export const RAW_COVERAGE_DIR = path.resolve(import.meta.dirname, "../../coverage-e2e/raw");
export const coverageWanted = () => process.env.E2E_COVERAGE !== "0";

/** The client build's scripts: nothing else (inline scripts, axe injected by a spec) has a source map. */
function isClientScript(url: string): boolean {
  try {
    const { pathname } = new URL(url);
    return pathname.startsWith("/assets/") && pathname.endsWith(".js");
  } catch {
    return false;
  }
}

/**
 * Records every page of every context `browser` opens until the returned function is called,
 * including the test runner's own `context` fixture and the contexts specs open in beforeAll.
 * V8's counts die with the page, so closing a page or its context first saves its coverage.
 */
export function recordCoverage(browser: Browser, label: string): () => Promise<void> {
  const recording = new Map<Page, Promise<unknown>>();
  let saved = 0;

  async function save(page: Page) {
    const started = recording.get(page);
    if (!started) return;
    recording.delete(page);
    await started;
    const entries = await page.coverage.stopJSCoverage().catch(() => []);
    // The scripts' text is the build's (build/client/assets): keep only the counts.
    const result = entries
      .filter((entry) => isClientScript(entry.url))
      .map(({ url, scriptId, functions }) => ({ url, scriptId, functions }));
    if (result.length === 0) return;
    mkdirSync(RAW_COVERAGE_DIR, { recursive: true });
    saved += 1;
    writeFileSync(path.join(RAW_COVERAGE_DIR, `${label}-${process.pid}-${saved}.json`), JSON.stringify({ result }));
  }

  function watchPage(page: Page) {
    if (recording.has(page)) return;
    // Before the page's first navigation: the listener runs when the page exists, before newPage resolves.
    recording.set(
      page,
      page.coverage.startJSCoverage({ resetOnNavigation: false }).catch(() => {}),
    );
    const close = page.close;
    page.close = async (options) => {
      await save(page);
      return close.call(page, options);
    };
  }

  function watchContext(context: BrowserContext) {
    for (const page of context.pages()) watchPage(page);
    context.on("page", watchPage);
    const close = context.close;
    context.close = async (options) => {
      await Promise.all(context.pages().map(save));
      return close.call(context, options);
    };
  }

  const newContext = browser.newContext;
  browser.newContext = async (options) => {
    const context = await newContext.call(browser, options);
    watchContext(context);
    return context;
  };
  return async () => {
    browser.newContext = newContext;
    await Promise.all([...recording.keys()].map(save));
  };
}
