import type { Page } from "@playwright/test";
import { ADMIN } from "../support/env";
import { login, register } from "../support/helpers";
import { expect, test } from "../support/test";

/**
 * The screenshots of docs/user-guide.md and docs/admin-guide.md (docs/images/guide/*.png, the
 * "docs" project's snapshotPathTemplate in playwright.config.ts). A UI change fails this spec;
 * `npx playwright test e2e/docs-screenshots --update-snapshots` remakes them. Fixed names and file
 * contents; times, addresses and instance-wide rows (other specs' accounts and events) are masked.
 */
const VIEWPORT = { width: 1280, height: 800 };
/** As e2e/visual: anti-aliasing and sub-pixel text may differ, layout may not. */
const MAX_DIFF_PIXEL_RATIO = 0.01;

const FILES = [
  { name: "budget-2027.csv", mimeType: "text/csv", buffer: Buffer.from("item,amount\nrent,1200\ntravel,300\n") },
  { name: "meeting-notes.md", mimeType: "text/markdown", buffer: Buffer.from("# Kick-off\n\nAurora launch plan.\n") },
  { name: "site-photo-brief.txt", mimeType: "text/plain", buffer: Buffer.from("Aurora site photos: north wall.\n") },
];

/** The guide's account: a fixed name, a fresh address per run (masked, as in e2e/visual). */
const DANA = {
  name: "Dana Docs",
  email: `dana-${Date.now().toString(36)}@docs.e2e.test`,
  password: "copper lantern meadow 4821 river",
};

async function shoot(page: Page, name: string, mask: (page: Page) => ReturnType<Page["locator"]>[] = () => []) {
  await page.evaluate(() => document.fonts.ready);
  await expect(page).toHaveScreenshot(`${name}.png`, {
    mask: [
      page.locator("time"),
      // Dates printed as text (listing cells): "7 Dec 2026, 11:37 UTC".
      page.locator("main td").filter({ hasText: /\d{4}, \d{2}:\d{2}/ }),
      page.getByText(/@(docs\.)?e2e\.test/).filter({ visible: true }),
      ...mask(page),
    ],
    maxDiffPixelRatio: MAX_DIFF_PIXEL_RATIO,
  });
}

/** The admin's unread count in the header: other specs' events (job failures, announcements) change it. */
const unread = (page: Page) => page.locator('header a[href="/notifications"]');

test.describe.configure({ mode: "serial" });

test("the user guide's pages", async ({ browser }) => {
  const context = await browser.newContext({ viewport: VIEWPORT });
  const page = await context.newPage();
  try {
    await register(page, DANA);
    await page.getByLabel("New folder").fill("Project Aurora");
    await page.getByRole("button", { name: "Create folder" }).click();
    const folder = page.locator("main table").getByRole("link", { name: "Project Aurora", exact: true });
    await folder.click();
    await expect(page.getByRole("heading", { level: 1, name: "Project Aurora" })).toBeVisible();
    await page.getByTestId("tus-file-input").setInputFiles(FILES);
    for (const file of FILES) {
      await expect(page.locator("main table").getByRole("link", { name: file.name, exact: true })).toBeVisible({ timeout: 30_000 });
    }
    // A fresh load: no upload panel, no live notices.
    await page.reload();
    await shoot(page, "files");

    await page.goto("/search?q=aurora");
    await expect(page.getByRole("link", { name: "Project Aurora" }).first()).toBeVisible();
    await shoot(page, "search");

    await page.goto("/settings/security");
    await shoot(page, "security-settings", (p) => [p.locator("main table tbody")]);

    await page.goto("/settings/tokens");
    await shoot(page, "access-tokens");

    await page.goto("/settings/notifications");
    await shoot(page, "notification-settings");
  } finally {
    await context.close();
  }
});

test("the admin guide's pages", async ({ browser }) => {
  const context = await browser.newContext({ viewport: VIEWPORT });
  const page = await context.newPage();
  try {
    await login(page, ADMIN);
    // Other specs' accounts and events differ from run to run: the users page keeps only the
    // guide's account (its totals line masked), the audit log is filtered to that account.
    await page.goto("/admin/users");
    await expect(page.getByRole("cell", { name: DANA.name, exact: true })).toBeVisible();
    // After hydration: hydrating would put the removed rows back.
    await page.waitForLoadState("networkidle");
    await page
      .locator("main table tbody tr")
      .filter({ hasNotText: DANA.name })
      .evaluateAll((rows) => {
        for (const row of rows) row.remove();
      });
    await expect(page.locator("main table tbody tr")).toHaveCount(1);
    await shoot(page, "admin-users", (p) => [p.getByText(/\d+ accounts? · /), unread(p)]);
    await page.goto("/admin/settings");
    await shoot(page, "admin-settings", (p) => [unread(p)]);
    await page.goto(`/admin/audit?actor=${encodeURIComponent(DANA.email)}`);
    // The target is the account's id, new each run.
    await shoot(page, "admin-audit", (p) => [p.getByLabel("Actor email contains"), p.locator("main tbody td:nth-child(5)"), unread(p)]);
  } finally {
    await context.close();
  }
});
