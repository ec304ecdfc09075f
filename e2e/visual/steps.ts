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
import { createAndOpenFolder, openUploadDialog, register } from "../support/helpers";

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
  /** The page; share states take theirs from the links the suite made (`shareLinks`). */
  path: string | ((links: ShareLinks) => string);
  /** Signed in as the suite's own account, or anonymous. */
  signedIn: boolean;
  /**
   * Only in the project without JavaScript: public pages whose look does not depend on scripts
   * (full-document links and forms). One project keeps the CI run short.
   */
  withoutJsOnly?: boolean;
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
  // The public share pages (components/share-view.tsx), as a visitor sees them.
  { name: "share-password", path: (links) => links.protectedFolder, signedIn: false, withoutJsOnly: true },
  {
    name: "share-folder",
    path: (links) => links.folder,
    signedIn: false,
    withoutJsOnly: true,
    // The Modified column.
    mask: (page) => [page.locator("main tbody td:nth-child(4)")],
  },
  {
    name: "share-file",
    path: (links) => links.file,
    signedIn: false,
    withoutJsOnly: true,
    // The Modified date.
    mask: (page) => [page.locator("main dl dd").nth(2)],
  },
  { name: "share-not-found", path: `/s/${"z".repeat(43)}`, signedIn: false, withoutJsOnly: true },
];

export interface ShareLinks {
  folder: string;
  protectedFolder: string;
  file: string;
}

/**
 * The account's folder "Holiday photos" (a subfolder and a small text file, fixed names, sizes
 * and contents) shared three ways: the folder, the folder behind a password, the file.
 */
async function shareLinks(browser: Browser, session: Awaited<ReturnType<typeof visualAccount>>, expect: Expect): Promise<ShareLinks> {
  const context = await browser.newContext({ baseURL: BASE_URL, javaScriptEnabled: false });
  await context.addCookies(session);
  const page = await context.newPage();
  try {
    await page.goto("/files");
    const folderId = await createAndOpenFolder(page, "Holiday photos");
    await page.getByLabel("New folder").fill("Day 1");
    await page.getByRole("button", { name: "Create folder" }).click();
    await expect(page.getByText("Created folder “Day 1”.")).toBeVisible();
    await openUploadDialog(page);
    await page.locator("#upload-file").setInputFiles({
      name: "itinerary.txt",
      mimeType: "text/plain",
      buffer: Buffer.from("Day 1: the harbour and the old town.\nDay 2: the islands by boat.\n"),
    });
    await page.getByRole("button", { name: "Upload", exact: true }).click();
    await expect(page.getByRole("status").filter({ hasText: "Uploaded" })).toBeVisible();
    const details = await page.locator('main a[href^="/details/file/"]').first().getAttribute("href");
    const fileId = details!.split("/").pop()!;
    const link = async (item: string, password?: string) => {
      await page.goto(`/shares?item=${item}`);
      const create = page.locator("form").filter({ has: page.getByRole("button", { name: "Create link" }) });
      if (password) await create.getByLabel("Password (optional)").fill(password);
      await create.getByRole("button", { name: "Create link" }).click();
      const created = page.getByRole("status").filter({ hasText: "Link created:" });
      return new URL(/https?:\/\/\S+\/s\/[A-Za-z0-9_-]+/.exec((await created.textContent()) ?? "")![0]).pathname;
    };
    const protectedFolder = await link(`folder:${folderId}`, "amber kettle");
    return { protectedFolder, folder: await link(`folder:${folderId}`), file: await link(`file:${fileId}`) };
  } finally {
    await context.close();
  }
}

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
  let links: ShareLinks | null = null;
  const states = STATES.filter((state) => !(javaScript && state.withoutJsOnly));

  test.beforeAll(async ({ browser }) => {
    session = await visualAccount(browser, javaScript);
    if (states.some((state) => typeof state.path === "function"))
      // Their own account: the suite's must keep its empty pages (shares-empty) empty.
      links = await shareLinks(browser, await visualAccount(browser, javaScript), expect);
  });

  for (const state of states) {
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
            await page.goto(typeof state.path === "function" ? state.path(links!) : state.path);
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
