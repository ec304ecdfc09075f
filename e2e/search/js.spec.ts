import { expect, test } from "../support/test";
import { createAndOpenFolder, newAccount, register } from "../support/helpers";

/** Content search with JavaScript: a file uploaded through tus is found by a word inside it. */
test("finds an uploaded text file by a word inside it and shows the snippet", async ({ page }) => {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));

  await register(page, newAccount("search-js"));
  await createAndOpenFolder(page, `Notes ${Date.now().toString(36)}`);
  const text = "Minutes of the spring meeting.\nThe flamingo budget was approved <b>unanimously</b>.\n";
  await page.getByTestId("tus-file-input").setInputFiles([{ name: "minutes.txt", mimeType: "text/plain", buffer: Buffer.from(text) }]);
  await expect(page.locator("main table").getByRole("link", { name: "minutes.txt", exact: true })).toBeVisible();

  await page.goto("/search");
  const box = page.getByLabel("Search names and file contents");
  // Extraction runs in the background just after the upload: search again until it has.
  await expect(async () => {
    await box.fill("flamingo");
    await box.press("Enter");
    await expect(page.getByTestId("content-match")).toBeVisible({ timeout: 1_000 });
  }).toPass({ timeout: 20_000 });

  const results = page.getByTestId("search-own");
  await expect(results.getByRole("link", { name: "minutes.txt" })).toBeVisible();
  const match = results.getByTestId("content-match");
  await expect(match).toContainText("Matched inside the file");
  await expect(match.locator("mark")).toHaveText("flamingo");
  // Markup in the file is text on the page.
  await expect(match.locator("b")).toHaveCount(0);
  expect(page.url()).toContain("q=flamingo");
  expect(errors).toEqual([]);
});
