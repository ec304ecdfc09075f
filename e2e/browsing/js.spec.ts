import { expect, test } from "../support/test";
import { createAndOpenFolder, newAccount, register } from "../support/helpers";

/**
 * Browsing with JavaScript: the same links navigate in place (no reloads), the page hydrates
 * without errors, and the tree and listing follow. (In e2e/browsing/ so the js project runs it.)
 */
test("sorts, switches views and walks the tree in place, without console errors", async ({ page }) => {
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(error.message));

  await register(page, newAccount("browse-js"));
  const folder = `Shelf ${Date.now().toString(36)}`;
  await createAndOpenFolder(page, folder);
  for (const name of ["Zebra", "Apple"]) {
    await page.getByLabel("New folder").fill(name);
    await page.getByRole("button", { name: "Create folder" }).click();
    await expect(page.locator("main table").getByRole("link", { name, exact: true })).toBeVisible();
  }
  await page.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));

  const table = page.locator("main table");
  await table.getByRole("link", { name: "Name" }).click();
  await expect(page).toHaveURL(/\?dir=desc$/);
  await expect(table.getByRole("columnheader", { name: "Name" })).toHaveAttribute("aria-sort", "descending");
  await expect(page.locator("main tbody tr td:first-child")).toHaveText(["Zebra", "Apple"]);

  await page.getByRole("link", { name: "Grid view" }).click();
  await expect(page.getByTestId("folder-grid")).toBeVisible();
  await page.getByTestId("folder-grid").getByRole("link", { name: "Apple", exact: true }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Apple" })).toBeVisible();
  // The view is remembered from folder to folder.
  await expect(page.getByText("This folder is empty.")).toBeVisible();
  const tree = page.getByRole("navigation", { name: "Folder tree" });
  await expect(tree.getByRole("link", { name: "Apple" })).toHaveAttribute("aria-current", "page");
  await tree.getByRole("link", { name: "Zebra" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Zebra" })).toBeVisible();
  await tree.getByRole("link", { name: folder }).click();
  await expect(page.getByTestId("folder-grid")).toBeVisible();
  await page.getByRole("link", { name: "List view" }).click();
  await expect(page.locator("main table")).toBeVisible();

  expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
  expect(errors).toEqual([]);
});
