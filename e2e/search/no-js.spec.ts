import { expect, test } from "@playwright/test";
import { newAccount, register, openUploadDialog } from "../support/helpers";

/** Without JavaScript: plain upload form, then the search form (GET) shows the content match. */
test("finds a file by a word inside it with plain forms", async ({ page }) => {
  await register(page, newAccount("search-nojs"));
  await openUploadDialog(page);
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
  await expect(page.getByTestId("search-own").getByRole("link", { name: "recipe.md", exact: true })).toBeVisible();
  await expect(page.getByTestId("content-match").locator("mark")).toHaveText("parsnip");
});

/** Without JavaScript the filters and sort are a GET form: the choices go into the address. */
test("filters and sorts with the plain GET form", async ({ page }) => {
  await register(page, newAccount("search-filters-nojs"));
  for (const [name, mimeType] of [
    ["comet report.txt", "text/plain"],
    ["comet photo.png", "image/png"],
  ] as const) {
    await openUploadDialog(page);
    await page.locator("#upload-file").setInputFiles([{ name, mimeType, buffer: Buffer.from(name) }]);
    await page.getByRole("button", { name: "Upload", exact: true }).click();
    await expect(page.getByRole("status").filter({ hasText: `Uploaded “${name}”.` })).toBeVisible();
  }

  await page.goto("/search");
  await page.getByLabel("Search names and file contents").fill("comet");
  await page.getByLabel("Sort by").selectOption("name");
  await page.getByLabel("Order").selectOption("desc");
  await page.locator("main").getByRole("button", { name: "Search", exact: true }).click();
  await expect(page).toHaveURL(/\/search\?q=comet&type=&modified=&size=&sort=name&order=desc/);
  const results = page.getByTestId("search-own");
  await expect(results.getByTestId("hit-name")).toHaveText(["comet report.txt", "comet photo.png"]);
  await expect(results.getByTestId("hit-name").first().locator("mark")).toHaveText("comet");
  // The form shows the choices made.
  await expect(page.getByLabel("Sort by")).toHaveValue("name");

  await page.getByLabel("Type").selectOption("image");
  await page.locator("main").getByRole("button", { name: "Search", exact: true }).click();
  await expect(page).toHaveURL(/[?&]type=image&/);
  await expect(results.getByTestId("hit-name")).toHaveText(["comet photo.png"]);

  // A bad value in the address is a 400 page that says what is wrong and how to go on.
  const response = await page.goto("/search?q=comet&type=pictures");
  expect(response?.status()).toBe(400);
  await expect(page.getByRole("alert")).toContainText("type must be one of");
  await page.getByRole("link", { name: "Start a new search" }).click();
  await expect(page).toHaveURL(/\/search$/);
});
