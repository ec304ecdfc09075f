import { expect, test } from "@playwright/test";
import { newAccount, register } from "../support/helpers";

/** Without JavaScript: plain upload form, then the search form (GET) shows the content match. */
test("finds a file by a word inside it with plain forms", async ({ page }) => {
  await register(page, newAccount("search-nojs"));
  await page
    .locator("#upload-file")
    .setInputFiles([{ name: "recipe.md", mimeType: "text/markdown", buffer: Buffer.from("# Soup\nAdd the parsnip last.\n") }]);
  await page.getByRole("button", { name: "Upload", exact: true }).click();
  await expect(page.getByRole("status").filter({ hasText: "Uploaded “recipe.md”." })).toBeVisible();

  await expect(async () => {
    await page.goto("/search");
    await page.getByLabel("Search names and file contents").fill("parsnip");
    await page.locator("main").getByRole("button", { name: "Search", exact: true }).click();
    await expect(page.getByTestId("content-match")).toBeVisible({ timeout: 1_000 });
  }).toPass({ timeout: 20_000 });
  await expect(page.getByTestId("search-own").getByRole("link", { name: "recipe.md" })).toBeVisible();
  await expect(page.getByTestId("content-match").locator("mark")).toHaveText("parsnip");
});
