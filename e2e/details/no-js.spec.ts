import { expect, test, type BrowserContext, type Page } from "@playwright/test";
import { BASE_URL } from "../support/env";
import { createAndOpenFolder, newAccount, register } from "../support/helpers";

/**
 * The details page without JavaScript: tabs are links (`?tab=`), rename, move, copy and trash are
 * dialogs shown as the page's :target, and the name-conflict choice appears only after a conflict.
 * (Steps build on each other.)
 */
test.describe.configure({ mode: "serial" });

const account = newAccount("details-nojs");
const FOLDER = `Details ${Date.now().toString(36)}`;

let context: BrowserContext;
let page: Page;
let folderUrl = "";
let fileId = "";

test.beforeAll(async ({ browser }) => {
  context = await browser.newContext({ baseURL: BASE_URL, javaScriptEnabled: false });
  page = await context.newPage();
});

test.afterAll(async () => {
  await context?.close();
});

async function uploadText(name: string, text = name) {
  await page.locator("#upload-file").setInputFiles({ name, mimeType: "text/plain", buffer: Buffer.from(text) });
  await page.getByRole("button", { name: "Upload", exact: true }).click();
  await expect(page.getByRole("status").filter({ hasText: `Uploaded “${name}”.` })).toBeVisible();
}

async function idOf(name: string): Promise<string> {
  const href = await page.locator('main a[href^="/download/"]').filter({ hasText: name }).first().getAttribute("href");
  return href!.split("/").pop()!;
}

test("sets up a folder with two files and a subfolder", async () => {
  await register(page, account);
  await createAndOpenFolder(page, FOLDER);
  folderUrl = page.url();
  await uploadText("draft.txt");
  await uploadText("final.txt");
  fileId = await idOf("draft.txt");
});

test("the tabs are links: Info, Sharing, Versions, Activity", async () => {
  await page.goto(`/details/file/${fileId}`);
  const tabs = page.getByRole("navigation", { name: "Details" });
  await expect(tabs.getByRole("link")).toHaveText(["Info", "Sharing", "Versions", "Activity"]);
  await expect(tabs.getByRole("link", { name: "Info" })).toHaveAttribute("aria-current", "page");
  await expect(page.getByRole("region", { name: "Properties" })).toBeVisible();
  await expect(page.getByTestId("file-viewer")).toBeVisible();
  // The dialogs are in the page but hidden until they are the :target.
  await expect(page.getByLabel("New name", { exact: true })).toBeHidden();

  await tabs.getByRole("link", { name: "Versions" }).click();
  await expect(page).toHaveURL(new RegExp(`/details/file/${fileId}\\?tab=versions$`));
  await expect(tabs.getByRole("link", { name: "Versions" })).toHaveAttribute("aria-current", "page");
  await expect(page.getByRole("heading", { name: "Versions" })).toBeVisible();
  await expect(page.getByRole("region", { name: "Properties" })).toHaveCount(0);

  await tabs.getByRole("link", { name: "Sharing" }).click();
  await expect(page.getByText("This file is not shared.")).toBeVisible();
  await tabs.getByRole("link", { name: "Activity" }).click();
  await expect(page.getByRole("heading", { name: "Activity" })).toBeVisible();
  await expect(page.getByTestId("item-activity")).toContainText("draft.txt");

  // An unknown tab is Info.
  await page.goto(`/details/file/${fileId}?tab=nonsense`);
  await expect(tabs.getByRole("link", { name: "Info" })).toHaveAttribute("aria-current", "page");
});

test("a folder's tabs have no Versions", async () => {
  await page.goto(folderUrl);
  const folderId = folderUrl.split("/").pop();
  await page.goto(`/details/folder/${folderId}`);
  await expect(page.getByRole("navigation", { name: "Details" }).getByRole("link")).toHaveText(["Info", "Sharing", "Activity"]);
  await expect(page.getByRole("link", { name: "Open folder" })).toHaveAttribute("href", `/files/${folderId}`);
});

test("rename: no conflict choice at first; after a conflict the choice, then keep both", async () => {
  await page.goto(`/details/file/${fileId}`);
  await page.getByRole("link", { name: "Rename", exact: true }).click();
  await expect(page).toHaveURL(/#rename$/);
  const dialog = page.getByRole("dialog", { name: "Rename “draft.txt”" });
  await expect(dialog).toBeVisible();
  await expect(dialog.getByRole("radio")).toHaveCount(0);
  await dialog.getByLabel("New name", { exact: true }).fill("final.txt");
  const refused = page.waitForResponse((r) => r.request().method() === "POST");
  await dialog.getByRole("button", { name: "Rename", exact: true }).click();
  expect((await refused).status()).toBe(409);
  // The page comes back with the dialog open, the message in it, and now the choice.
  await expect(dialog).toBeVisible();
  await expect(dialog.getByRole("alert")).toContainText("already exists");
  await expect(dialog.getByLabel("New name", { exact: true })).toHaveValue("final.txt");
  const choice = dialog.getByRole("group", { name: /already taken/ });
  await expect(choice.getByRole("radio")).toHaveCount(3);
  await expect(choice.getByRole("radio", { name: /Keep both/ })).toBeChecked();
  await dialog.getByRole("button", { name: "Rename", exact: true }).click();
  await expect(page.getByRole("status").filter({ hasText: "Renamed." })).toBeVisible();
  await expect(page.getByRole("heading", { level: 1, name: "final (1).txt" })).toBeVisible();
  await expect(page.getByRole("dialog")).toHaveCount(0);
});

test("rename: skip after a conflict changes nothing", async () => {
  await page.goto(`/details/file/${fileId}#rename`);
  const dialog = page.getByRole("dialog", { name: /^Rename/ });
  await dialog.getByLabel("New name", { exact: true }).fill("final.txt");
  await dialog.getByRole("button", { name: "Rename", exact: true }).click();
  await dialog.getByRole("radio", { name: /Skip/ }).check();
  await dialog.getByRole("button", { name: "Rename", exact: true }).click();
  await expect(page).toHaveURL(/\?done=skipped$/);
  await expect(page.getByRole("status").filter({ hasText: "Nothing changed" })).toBeVisible();
  await expect(page.getByRole("heading", { level: 1, name: "final (1).txt" })).toBeVisible();
});

test("copy and move dialogs; a copy into the same folder asks, then keeps both", async () => {
  await page.goto(`/details/file/${fileId}`);
  await page.getByRole("link", { name: "Copy", exact: true }).click();
  const copy = page.getByRole("dialog", { name: /^Copy/ });
  await expect(copy).toBeVisible();
  const here = await copy.locator("#copy-destination option").filter({ hasText: "(current folder)" }).getAttribute("value");
  await copy.getByLabel("Copy into folder").selectOption(here!);
  await copy.getByRole("button", { name: "Copy", exact: true }).click();
  await expect(copy.getByRole("alert")).toContainText("already exists");
  await copy.getByRole("radio", { name: /Keep both/ }).check();
  await copy.getByRole("button", { name: "Copy", exact: true }).click();
  await expect(page.getByRole("status").filter({ hasText: "Copied." })).toBeVisible();
  await expect(page).not.toHaveURL(new RegExp(fileId));
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(/^final .*\.txt$/);
  await expect(page.getByRole("heading", { level: 1 })).not.toHaveText("final (1).txt");

  await page.getByRole("link", { name: "Move", exact: true }).click();
  const move = page.getByRole("dialog", { name: /^Move/ });
  const root = await move
    .locator("#move-destination option")
    .filter({ hasText: /^My files$/ })
    .getAttribute("value");
  await move.getByLabel("Move to folder").selectOption(root!);
  await move.getByRole("button", { name: "Move", exact: true }).click();
  await expect(page.getByRole("status").filter({ hasText: "Moved." })).toBeVisible();
  await expect(page.getByRole("navigation", { name: "Location" })).not.toContainText(FOLDER);
});

test("trash is a confirmation dialog", async () => {
  await page.goto(`/details/file/${fileId}`);
  await page.getByRole("link", { name: "Move to trash", exact: true }).click();
  const confirm = page.getByRole("dialog", { name: "Move to trash?" });
  await expect(confirm).toBeVisible();
  await confirm.getByRole("link", { name: "Close" }).click();
  await expect(confirm).toBeHidden();
  await page.getByRole("link", { name: "Move to trash", exact: true }).click();
  await confirm.getByRole("button", { name: /^Move “.*” to trash$/ }).click();
  await expect(page).toHaveURL(/\/trash\?done=trashed/);
});
