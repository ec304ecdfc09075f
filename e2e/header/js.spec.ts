import type { Page } from "@playwright/test";
import { expect, test } from "../support/test";
import { DESKTOP, MOBILE } from "../support/a11y";
import { BASE_URL } from "../support/env";
import { newAccount, openUserMenu, register } from "../support/helpers";

/**
 * The header with JavaScript: the theme choice (applied at once, remembered, rendered by the
 * server), the user menu's keys, one row at desktop widths and the compact menu on a phone.
 */
test.describe.configure({ mode: "serial" });

const account = newAccount("header");
let page: Page;

/** The page's background colour, to tell which theme is showing. */
const background = (page: Page) => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
const LIGHT = "rgb(248, 250, 252)";
const DARK = "rgb(2, 6, 23)";

test.beforeAll(async ({ browser }) => {
  page = await browser.newPage({ baseURL: BASE_URL, viewport: DESKTOP });
  await register(page, account);
});

test.afterAll(async () => {
  await page?.close();
});

test("the theme menu switches at once, the server renders the choice, and System follows the device", async () => {
  await page.emulateMedia({ colorScheme: "light" });
  await page.goto("/files");
  expect(await background(page)).toBe(LIGHT);
  const menu = await openUserMenu(page);
  await menu.getByRole("button", { name: "Dark" }).click();
  await expect(page.locator("html")).toHaveAttribute("data-theme", "dark");
  await expect.poll(() => background(page)).toBe(DARK);
  await expect(menu.getByRole("button", { name: "Dark" })).toHaveAttribute("aria-pressed", "true");
  // Saved in the background: the server's HTML carries the theme, so a reload never flashes light.
  await expect.poll(async () => (await (await page.request.get("/files")).text()).includes('data-theme="dark"')).toBe(true);
  await page.reload();
  await expect(page.locator("html")).toHaveAttribute("data-theme", "dark");
  expect(await background(page)).toBe(DARK);

  await (await openUserMenu(page)).getByRole("button", { name: "System" }).click();
  await expect(page.locator("html")).not.toHaveAttribute("data-theme", /.*/);
  await page.emulateMedia({ colorScheme: "dark" });
  expect(await background(page)).toBe(DARK);
  await page.emulateMedia({ colorScheme: "light" });
  expect(await background(page)).toBe(LIGHT);
  await page.reload();
  await expect(page.locator("html")).not.toHaveAttribute("data-theme", /.*/);
});

test("the user menu opens with the keyboard, arrows move through it, Escape closes it and gives the focus back", async () => {
  await page.goto("/files");
  const menu = page.getByTestId("user-menu");
  const summary = menu.locator(":scope > summary");
  await expect(summary).toHaveAccessibleName(`${account.name}, account menu`);
  await summary.focus();
  await page.keyboard.press("Enter");
  await expect(menu).toHaveAttribute("open", "");
  await page.keyboard.press("ArrowDown");
  await expect(menu.getByRole("link", { name: "Security" })).toBeFocused();
  await page.keyboard.press("ArrowDown");
  await expect(menu.getByRole("link", { name: "Privacy" })).toBeFocused();
  await page.keyboard.press("End");
  await expect(menu.getByRole("button", { name: "Log out" })).toBeFocused();
  await page.keyboard.press("ArrowDown");
  await expect(menu.getByRole("link", { name: "Security" })).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(menu).not.toHaveAttribute("open", "");
  await expect(summary).toBeFocused();

  // A click outside closes it; following a link closes it too (the header stays on screen).
  await page.keyboard.press("Space");
  await expect(menu).toHaveAttribute("open", "");
  await page.locator("main h1").click();
  await expect(menu).not.toHaveAttribute("open", "");
  await summary.click();
  await menu.getByRole("link", { name: "Access tokens" }).click();
  await expect(page).toHaveURL(/\/settings\/tokens$/);
  await expect(menu).not.toHaveAttribute("open", "");
});

for (const width of [1024, 1280, 1920]) {
  test(`the header is one row at ${width} px: brand, navigation, search and user menu`, async () => {
    await page.setViewportSize({ width, height: 800 });
    await page.goto("/files");
    const boxes = await Promise.all(
      [
        page.getByRole("link", { name: "Coffer", exact: true }),
        page.getByRole("navigation", { name: "Main" }),
        page.getByRole("banner").getByRole("search"),
        page.getByTestId("user-menu").locator(":scope > summary"),
      ].map(async (part) => (await part.boundingBox())!),
    );
    const middles = boxes.map((box) => box.y + box.height / 2);
    expect(Math.max(...middles) - Math.min(...middles)).toBeLessThan(8);
    // Left to right, none overlapping.
    for (let i = 1; i < boxes.length; i++) expect(boxes[i].x).toBeGreaterThanOrEqual(boxes[i - 1].x + boxes[i - 1].width);
    expect((await page.getByTestId("header-row").boundingBox())!.height).toBeLessThan(64);
    await expect(page.getByTestId("compact-menu")).toBeHidden();
  });
}

test("on a phone a compact menu holds the same links", async () => {
  await page.setViewportSize(MOBILE);
  await page.goto("/files");
  await expect(page.getByTestId("user-menu")).toBeHidden();
  const menu = page.getByTestId("compact-menu");
  await menu.locator(":scope > summary").click();
  for (const name of ["Files", "Shared with me", "My links", "Trash", "Activity", "Security", "Privacy", "Access tokens"]) {
    await expect(menu.getByRole("link", { name, exact: true })).toBeVisible();
  }
  await expect(menu.getByRole("button", { name: "Log out" })).toBeVisible();
  await menu.getByRole("link", { name: "Trash" }).click();
  await expect(page).toHaveURL(/\/trash$/);
  await expect(menu).not.toHaveAttribute("open", "");
  await page.setViewportSize(DESKTOP);
});
