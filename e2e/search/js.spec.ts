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
  await expect(results.getByRole("link", { name: "minutes.txt", exact: true })).toBeVisible();
  const match = results.getByTestId("content-match");
  await expect(match).toContainText("Matched inside the file");
  await expect(match.locator("mark")).toHaveText("flamingo");
  // Markup in the file is text on the page.
  await expect(match.locator("b")).toHaveCount(0);
  expect(page.url()).toContain("q=flamingo");
  expect(errors).toEqual([]);
});

/**
 * Results as you type: no Enter, no full page load (a marker on window survives), the address
 * follows the form, and a filter or sort change updates the list the same way.
 */
test("updates results as you type and as filters change, keeping the address in sync", async ({ page }) => {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));

  await register(page, newAccount("search-typing"));
  const folderId = await createAndOpenFolder(page, `Sky ${Date.now().toString(36)}`);
  await page.getByTestId("tus-file-input").setInputFiles([
    { name: "aurora notes.txt", mimeType: "text/plain", buffer: Buffer.from("Northern lights.\n") },
    { name: "aurora sky.png", mimeType: "image/png", buffer: Buffer.from("not really a png") },
  ]);
  const table = page.locator("main table");
  await expect(table.getByRole("link", { name: "aurora notes.txt", exact: true })).toBeVisible();
  await expect(table.getByRole("link", { name: "aurora sky.png", exact: true })).toBeVisible();

  await page.goto("/search");
  await page.evaluate(() => {
    (window as unknown as { stillHere: boolean }).stillHere = true;
  });
  const box = page.getByLabel("Search names and file contents");
  await box.pressSequentially("auror", { delay: 40 });
  const results = page.getByTestId("search-own");
  await expect(results.getByTestId("hit-name")).toHaveCount(2);
  await expect(page).toHaveURL(/[?&]q=auror(&|$)/);
  // The typed part of each name is marked; the box keeps focus and what was typed.
  await expect(results.getByTestId("hit-name").first().locator("mark")).toHaveText("aurora".slice(0, 5));
  await expect(box).toBeFocused();
  await expect(box).toHaveValue("auror");
  // Each result shows where it is.
  await expect(results.getByTestId("hit-path").first().getByRole("link").last()).toHaveAttribute("href", `/files/${folderId}`);

  await page.getByLabel("Type").selectOption("image");
  await expect(results.getByTestId("hit-name")).toHaveCount(1);
  await expect(results.getByTestId("hit-name")).toContainText("aurora sky.png");
  await expect(page).toHaveURL(/[?&]type=image(&|$)/);

  await page.getByLabel("Type").selectOption("");
  await page.getByLabel("Sort by").selectOption("name");
  await page.getByLabel("Order").selectOption("desc");
  await expect(page).toHaveURL(/sort=name.*order=desc|order=desc.*sort=name/);
  await expect(results.getByTestId("hit-name")).toHaveText(["aurora sky.png", "aurora notes.txt"]);

  // A word that matches nothing: the no-match state says what to do.
  await box.fill("qqzzjjxxkk");
  await expect(page.getByText("Nothing matches “qqzzjjxxkk”", { exact: true })).toBeVisible();

  // Back returns to the previous search, its fields following.
  await page.goBack();
  await expect(page).toHaveURL(/[?&]q=auror(&|$)/);
  await expect(results.getByTestId("hit-name")).toHaveCount(2);

  expect(await page.evaluate(() => (window as unknown as { stillHere?: boolean }).stillHere)).toBe(true);
  expect(errors).toEqual([]);
});
