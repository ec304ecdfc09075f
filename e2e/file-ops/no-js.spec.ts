import { expect, test, type BrowserContext, type Page } from "@playwright/test";
import { BASE_URL } from "../support/env";
import { createAndOpenFolder, newAccount, register, openUploadDialog } from "../support/helpers";

/**
 * File operations without JavaScript: rename, move, trash, restore and delete forever with plain
 * forms on the details and trash pages. The steps build on each other, so they run in order.
 */
test.describe.configure({ mode: "serial" });

const account = newAccount("nojs-ops");
const suffix = Date.now().toString(36);
const SOURCE = `Ops source ${suffix}`;
const TARGET = `Ops target ${suffix}`;
const RENAMED = `renamed-${suffix}.txt`;

let context: BrowserContext;
let page: Page;
let fileId: string;

test.beforeAll(async ({ browser }) => {
  context = await browser.newContext({ baseURL: BASE_URL, javaScriptEnabled: false });
  page = await context.newPage();
});

test.afterAll(async () => {
  await context?.close();
});

test("prepares two folders and a file", async () => {
  await register(page, account);
  await createAndOpenFolder(page, TARGET);
  await page.goto("/files");
  await createAndOpenFolder(page, SOURCE);
  await openUploadDialog(page);
  await page
    .locator("#upload-file")
    .setInputFiles({ name: "original.txt", mimeType: "text/plain", buffer: Buffer.from("no-js file operations") });
  await page.getByRole("button", { name: "Upload", exact: true }).click();
  await expect(page.getByRole("status").filter({ hasText: "Uploaded “original.txt”." })).toBeVisible();
  const href = await page.locator('main a[href^="/download/"]').filter({ hasText: "original.txt" }).first().getAttribute("href");
  fileId = href!.split("/").pop()!;
});

test("renames the file on its details page", async () => {
  await page.goto(`/details/file/${fileId}`);
  await expect(page.getByRole("heading", { level: 1, name: "original.txt" })).toBeVisible();
  // The rename dialog is the page's :target without JavaScript.
  await page.getByRole("link", { name: "Rename", exact: true }).click();
  await expect(page).toHaveURL(/#rename$/);
  await page.getByLabel("New name", { exact: true }).fill(RENAMED);
  await page.getByRole("button", { name: "Rename", exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`/details/file/${fileId}\\?done=renamed$`));
  await expect(page.getByRole("status").filter({ hasText: "Renamed." })).toBeVisible();
  await expect(page.getByRole("heading", { level: 1, name: RENAMED })).toBeVisible();
});

test("moves the file to another folder", async () => {
  await page.getByRole("link", { name: "Move", exact: true }).click();
  const value = await page.locator("#move-destination option").filter({ hasText: TARGET }).getAttribute("value");
  await page.getByLabel("Move to folder", { exact: true }).selectOption(value!);
  await page.getByRole("button", { name: "Move", exact: true }).click();
  await expect(page.getByRole("status").filter({ hasText: "Moved." })).toBeVisible();
  await expect(page.getByRole("navigation", { name: "Location" })).toContainText(TARGET);
});

test("moves the file to the trash and restores it", async () => {
  await page.getByRole("link", { name: "Move to trash", exact: true }).click();
  await page.getByRole("button", { name: `Move “${RENAMED}” to trash` }).click();
  await expect(page).toHaveURL(/\/trash\?done=trashed/);
  await expect(page.getByRole("status").filter({ hasText: `Moved “${RENAMED}” to the trash.` })).toBeVisible();
  const row = page.locator("main tbody tr").filter({ hasText: RENAMED });
  await expect(row).toContainText(TARGET);
  await row.getByRole("button", { name: `Restore ${RENAMED}` }).click();
  await expect(page.getByRole("status").filter({ hasText: "is back in" })).toContainText(`Restored. ${RENAMED} is back in ${TARGET}.`);
  await expect(page.getByText("The trash is empty.")).toBeVisible();
});

test("deletes the file forever", async () => {
  await page.goto(`/details/file/${fileId}#trash`);
  await page.getByRole("button", { name: `Move “${RENAMED}” to trash` }).click();
  const row = page.locator("main tbody tr").filter({ hasText: RENAMED });
  await row.getByRole("link", { name: `Delete forever… ${RENAMED}` }).click();
  // A confirmation step first; reloading it deletes nothing.
  await expect(page.getByRole("heading", { name: `Delete “${RENAMED}” forever?` })).toBeVisible();
  await page.reload();
  await expect(row).toBeVisible();
  await page.getByRole("button", { name: "Yes, delete it for good" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Deleted forever." })).toBeVisible();
  await expect(page.getByText("The trash is empty.")).toBeVisible();
  const gone = await page.goto(`/details/file/${fileId}`);
  expect(gone?.status()).toBe(404);
});

test("my activity lists what was done, newest first, from the navigation", async () => {
  await page.goto("/files");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Activity" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "My activity" })).toBeVisible();
  const entries = page.getByTestId("my-activity").getByRole("listitem");
  await expect(entries.first()).toContainText(`deleted “${RENAMED}” forever`);
  await expect(page.getByTestId("my-activity")).toContainText(`moved “${RENAMED}” to the trash`);
});
