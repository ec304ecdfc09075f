import { readFile } from "node:fs/promises";
import { expect, test } from "../support/test";
import yauzl from "yauzl";
import { createAndOpenFolder, newAccount, register } from "../support/helpers";

/** Bulk selection with JavaScript: "Select all", the live count, and the ZIP of the selection. */
function entryNames(buffer: Buffer): Promise<string[]> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buffer, { lazyEntries: true }, (error, zip) => {
      if (error || !zip) return reject(error);
      const names: string[] = [];
      zip.on("end", () => resolve(names));
      zip.on("error", reject);
      zip.on("entry", (entry: yauzl.Entry) => {
        names.push(entry.fileName);
        zip.readEntry();
      });
      zip.readEntry();
    });
  });
}

test("selects all with a live count and downloads the selection as a ZIP", async ({ page }) => {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  await register(page, newAccount("bulk-js"));
  const parent = `Bulk js ${Date.now().toString(36)}`;
  const parentId = await createAndOpenFolder(page, parent);
  for (const name of ["One", "Two"]) {
    await page.getByLabel("New folder").fill(name);
    await page.getByRole("button", { name: "Create folder" }).click();
    await expect(page.locator("main table").getByRole("link", { name, exact: true })).toBeVisible();
  }
  await page.goto(`/files/${parentId}`);
  const count = page.getByTestId("bulk-count");
  await expect(count).toHaveText("0 selected");
  await expect(page.getByRole("button", { name: "Download as ZIP" })).toBeDisabled();
  await page.getByRole("checkbox", { name: "Select One" }).check();
  await expect(count).toHaveText("1 selected");
  await page.getByRole("checkbox", { name: "Select all" }).check();
  await expect(count).toHaveText("2 selected");
  await expect(page.getByRole("checkbox", { name: "Select Two" })).toBeChecked();

  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download as ZIP" }).click()]);
  expect(download.suggestedFilename()).toBe(`${parent}.zip`);
  expect((await entryNames(await readFile(await download.path()))).sort()).toEqual(["One/", "Two/"]);
  await download.delete();

  await page.getByRole("checkbox", { name: "Select all" }).uncheck();
  await expect(count).toHaveText("0 selected");
  expect(errors).toEqual([]);
});
