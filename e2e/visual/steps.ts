import type {
  Browser,
  BrowserContext,
  Expect,
  Page,
  PlaywrightTestArgs,
  PlaywrightTestOptions,
  PlaywrightWorkerArgs,
  PlaywrightWorkerOptions,
  TestType,
} from "@playwright/test";
import { BASE_URL } from "../support/env";
import { register } from "../support/helpers";

/**
 * Visual regression: each page state at desktop and phone widths, light and dark, compared with
 * the baseline PNGs beside this file (made on this machine's Debian Chromium; `npx playwright test
 * e2e/visual --update-snapshots` remakes them after an intended change). Dates and live figures
 * are masked; accounts have fixed names, so the header reads the same in every run.
 */
const WIDTHS = [
  { name: "desktop", width: 1280, height: 800 },
  { name: "phone", width: 390, height: 844 },
] as const;
const THEMES = ["light", "dark"] as const;

/** Which part of the screen may differ: anti-aliasing and sub-pixel text, not layout. */
const MAX_DIFF_PIXEL_RATIO = 0.01;

export interface VisualState {
  name: string;
  path: string;
  /** Signed in as the suite's own account, or anonymous. */
  signedIn: boolean;
  /** Regions whose content changes between runs (counts of the whole instance). */
  mask?: (page: Page) => ReturnType<Page["locator"]>[];
}

export const STATES: VisualState[] = [
  { name: "login", path: "/login", signedIn: false },
  { name: "register", path: "/register", signedIn: false },
  { name: "forgot-password", path: "/forgot-password", signedIn: false },
  { name: "not-found", path: "/no-such-page", signedIn: false },
  { name: "trash-empty", path: "/trash", signedIn: true },
  { name: "shares-empty", path: "/shares", signedIn: true },
  { name: "notifications-empty", path: "/notifications", signedIn: true },
  { name: "notification-settings", path: "/settings/notifications", signedIn: true },
  { name: "security-settings", path: "/settings/security", signedIn: true },
];

async function contextFor(browser: Browser, javaScript: boolean, theme: (typeof THEMES)[number]): Promise<BrowserContext> {
  const context = await browser.newContext({ baseURL: BASE_URL, javaScriptEnabled: javaScript });
  // Remix's cookie encoding: base64 of the JSON value.
  const value = encodeURIComponent(Buffer.from(JSON.stringify(theme)).toString("base64"));
  await context.addCookies([{ name: "coffer_theme", value, url: BASE_URL }]);
  return context;
}

/**
 * Registers an account with a fixed name (a fresh address each time: a worker restarted after a
 * failure registers again) and returns its session cookies. Pages that show the address mask it.
 */
export async function visualAccount(browser: Browser, javaScript: boolean) {
  const account = {
    name: "Vera Visual",
    email: `vera-${Date.now().toString(36)}@visual.e2e.test`,
    password: "amber kettle journey 7319 orbit",
  };
  const context = await browser.newContext({ baseURL: BASE_URL, javaScriptEnabled: javaScript });
  await register(await context.newPage(), account);
  const cookies = await context.cookies();
  await context.close();
  return cookies;
}

export function visualSuite(
  test: TestType<PlaywrightTestArgs & PlaywrightTestOptions, PlaywrightWorkerArgs & PlaywrightWorkerOptions>,
  expect: Expect,
  javaScript: boolean,
) {
  test.describe.configure({ mode: "serial" });
  let session: Awaited<ReturnType<typeof visualAccount>> = [];

  test.beforeAll(async ({ browser }) => {
    session = await visualAccount(browser, javaScript);
  });

  for (const state of STATES) {
    test(`${state.name} looks as it did`, async ({ browser }) => {
      for (const theme of THEMES) {
        // One address per run: masked wherever a page shows it.
        const address = (page: Page) => page.getByText(/@visual\.e2e\.test/).filter({ visible: true });
        const context = await contextFor(browser, javaScript, theme);
        if (state.signedIn) await context.addCookies(session.filter((cookie) => cookie.name !== "coffer_theme"));
        const page = await context.newPage();
        try {
          for (const size of WIDTHS) {
            await page.setViewportSize({ width: size.width, height: size.height });
            await page.goto(state.path);
            await page.evaluate(() => document.fonts.ready);
            await expect(page).toHaveScreenshot(`${state.name}-${theme}-${size.name}.png`, {
              fullPage: true,
              mask: [page.locator("time"), address(page), ...(state.mask?.(page) ?? [])],
              maxDiffPixelRatio: MAX_DIFF_PIXEL_RATIO,
            });
          }
        } finally {
          await context.close();
        }
      }
    });
  }
}
