import type { BrowserContext, Page } from "@playwright/test";
import { expect, test } from "../support/test";
import { BASE_URL } from "../support/env";
import { createAndOpenFolder, newAccount, register } from "../support/helpers";

/**
 * The details page with JavaScript: tabs, and rename, move, copy and trash as modal dialogs
 * (showModal: Escape closes and gives the focus back); the name-conflict choice appears only
 * after a conflict. (Steps build on each other.)
 */
test.describe.configure({ mode: "serial" });

const account = newAccount("details-js");
const FOLDER = `Details ${Date.now().toString(36)}`;

let context: BrowserContext;
let page: Page;
let fileId = "";

test.beforeAll(async ({ browser }) => {
  context = await browser.newContext({ baseURL: BASE_URL, viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
});

test.afterAll(async () => {
  await context?.close();
});

async function uploadText(name: string, text = name) {
  await page.getByTestId("tus-file-input").setInputFiles({ name, mimeType: "text/plain", buffer: Buffer.from(text) });
  await expect(page.getByTestId("upload-item").filter({ hasText: name })).toHaveAttribute("data-status", "done", { timeout: 30_000 });
  await expect(page.getByTestId("listing-file").filter({ hasText: name })).toBeVisible();
}

test("sets up a folder with two files", async () => {
  await register(page, account);
  await createAndOpenFolder(page, FOLDER);
  await uploadText("draft.txt");
  await uploadText("final.txt");
  const href = await page.locator('main a[href^="/download/"]').filter({ hasText: "draft.txt" }).first().getAttribute("href");
  fileId = href!.split("/").pop()!;
});

test("tabs switch with client navigation and keep their URL", async () => {
  await page.goto(`/details/file/${fileId}`);
  const tabs = page.getByRole("navigation", { name: "Details" });
  await expect(tabs.getByRole("link", { name: "Info" })).toHaveAttribute("aria-current", "page");
  await tabs.getByRole("link", { name: "Versions" }).click();
  await expect(page).toHaveURL(/\?tab=versions$/);
  await expect(page.getByText("No earlier versions.")).toBeVisible();
  await tabs.getByRole("link", { name: "Activity" }).click();
  await expect(page.getByTestId("item-activity")).toBeVisible();
  await page.goBack();
  await expect(tabs.getByRole("link", { name: "Versions" })).toHaveAttribute("aria-current", "page");
});

test("the rename dialog is modal: Escape closes it and the focus returns to its opener", async () => {
  await page.goto(`/details/file/${fileId}`);
  const opener = page.getByRole("link", { name: "Rename", exact: true });
  await opener.click();
  const dialog = page.getByRole("dialog", { name: "Rename “draft.txt”" });
  await expect(dialog).toBeVisible();
  expect(await dialog.evaluate((d) => d.matches(":modal"))).toBe(true);
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  await expect(opener).toBeFocused();
});

test("rename with a conflict: the choice only then, keep both, and the dialog closes", async () => {
  await page.getByRole("link", { name: "Rename", exact: true }).click();
  const dialog = page.getByRole("dialog", { name: /^Rename/ });
  await expect(dialog.getByRole("radio")).toHaveCount(0);
  await dialog.getByLabel("New name", { exact: true }).fill("final.txt");
  const refused = page.waitForResponse((r) => r.request().method() === "POST");
  await dialog.getByRole("button", { name: "Rename", exact: true }).click();
  expect((await refused).status()).toBe(409);
  await expect(dialog.getByRole("alert")).toContainText("already exists");
  await expect(dialog.getByRole("radio")).toHaveCount(3);
  await expect(dialog.getByRole("radio", { name: /Keep both/ })).toBeChecked();
  await dialog.getByRole("radio", { name: /Replace/ }).check();
  await dialog.getByRole("radio", { name: /Keep both/ }).check();
  await dialog.getByRole("button", { name: "Rename", exact: true }).click();
  await expect(page.getByRole("status").filter({ hasText: "Renamed." })).toBeVisible();
  await expect(page.getByRole("heading", { level: 1, name: "final (1).txt" })).toBeVisible();
  await expect(page.getByRole("dialog")).toHaveCount(0);
});

test("a link to #move opens the move dialog as a modal; moving closes it", async () => {
  await page.goto(`/details/file/${fileId}#move`);
  const move = page.getByRole("dialog", { name: /^Move/ });
  await expect(move).toBeVisible();
  await expect.poll(() => move.evaluate((d) => d.matches(":modal"))).toBe(true);
  const root = await move
    .locator("#move-destination option")
    .filter({ hasText: /^My files$/ })
    .getAttribute("value");
  await move.getByLabel("Move to folder").selectOption(root!);
  await move.getByRole("button", { name: "Move", exact: true }).click();
  await expect(page.getByRole("status").filter({ hasText: "Moved." })).toBeVisible();
  await expect(page.getByRole("dialog")).toHaveCount(0);
});

test("copy dialog, then trash confirmed in its dialog", async () => {
  await page.getByRole("link", { name: "Copy", exact: true }).click();
  const copy = page.getByRole("dialog", { name: /^Copy/ });
  const target = await copy.locator("#copy-destination option").filter({ hasText: FOLDER }).getAttribute("value");
  await copy.getByLabel("Copy into folder").selectOption(target!);
  await copy.getByRole("button", { name: "Copy", exact: true }).click();
  await expect(page.getByRole("status").filter({ hasText: "Copied." })).toBeVisible();
  await expect(page.getByRole("navigation", { name: "Location" })).toContainText(FOLDER);

  await page.getByRole("link", { name: "Move to trash", exact: true }).click();
  const confirm = page.getByRole("dialog", { name: "Move to trash?" });
  await expect(confirm).toBeVisible();
  await confirm.getByRole("button", { name: /^Move “.*” to trash$/ }).click();
  await expect(page).toHaveURL(/\/trash\?done=trashed/);
});
