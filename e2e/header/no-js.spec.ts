import { expect, test } from "@playwright/test";
import { MOBILE } from "../support/a11y";
import { newAccount, openUserMenu, register } from "../support/helpers";

/**
 * The header without JavaScript: the menus are native <details>, the theme choice is a form POST
 * that comes back to the same page, and the server renders the theme.
 */
test.describe.configure({ mode: "serial" });

test("the theme form works without JavaScript and the choice is remembered", async ({ page }) => {
  await register(page, newAccount("themenojs"));
  await page.goto("/files?view=list");
  await (await openUserMenu(page)).getByRole("button", { name: "Dark" }).click();
  await expect(page).toHaveURL(/\/files\?view=list$/);
  await expect(page.locator("html")).toHaveAttribute("data-theme", "dark");
  await page.goto("/settings/security");
  await expect(page.locator("html")).toHaveAttribute("data-theme", "dark");
  await (await openUserMenu(page)).getByRole("button", { name: "Light" }).click();
  await expect(page).toHaveURL(/\/settings\/security$/);
  await expect(page.locator("html")).toHaveAttribute("data-theme", "light");
});

test("logged out, the theme menu sits beside Log in", async ({ page }) => {
  await page.goto("/login");
  const menu = page.getByTestId("theme-menu");
  await menu.locator(":scope > summary").click();
  await menu.getByRole("button", { name: "Dark" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.locator("html")).toHaveAttribute("data-theme", "dark");
});

test("the user menu's links and Log out work without JavaScript, on a desktop and in the compact menu", async ({ page }) => {
  await register(page, newAccount("menunojs"));
  await (await openUserMenu(page)).getByRole("link", { name: "Access tokens" }).click();
  await expect(page).toHaveURL(/\/settings\/tokens$/);
  await (await openUserMenu(page)).getByRole("link", { name: "Privacy" }).click();
  await expect(page).toHaveURL(/\/settings\/privacy$/);

  await page.setViewportSize(MOBILE);
  const compact = await openUserMenu(page);
  await expect(compact).toHaveAttribute("data-testid", "compact-menu");
  await compact.getByRole("link", { name: "Activity" }).click();
  await expect(page).toHaveURL(/\/activity$/);
  await (await openUserMenu(page)).getByRole("button", { name: "Log out" }).click();
  await expect(page).toHaveURL(/\/login$/);
});
