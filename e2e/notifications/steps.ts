import { expect, type Locator, type Page } from "@playwright/test";

/** Shares a folder with an account (view only) from the sharing page, as its owner. */
export async function shareFolderWith(page: Page, folderId: string, email: string): Promise<void> {
  await page.goto(`/shares?item=folder:${folderId}`);
  await page.getByLabel("Share with (email)").fill(email);
  await page.getByRole("button", { name: "Share", exact: true }).click();
  await expect(page.getByRole("status").first()).toBeVisible();
}

/**
 * Reloads /notifications until `count` notifications are listed: the dispatcher delivers them a
 * moment after the change (woken after the commit, or on its minute schedule).
 */
export async function waitForNotification(page: Page, count: number): Promise<Locator> {
  const items = page.locator('[data-testid="notifications"] li');
  await expect(async () => {
    await page.goto("/notifications");
    await expect(items).toHaveCount(count, { timeout: 1_000 });
  }).toPass({ timeout: 30_000, intervals: [500, 1_000, 2_000] });
  return items;
}
