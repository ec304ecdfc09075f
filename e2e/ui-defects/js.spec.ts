import type { BrowserContext, Page } from "@playwright/test";
import { expect, test } from "../support/test";
import { BASE_URL } from "../support/env";
import { createAndOpenFolder, newAccount, randomFile, register, scratchDir, throttleUploads } from "../support/helpers";

/**
 * Defects of issue 16 with JavaScript: a refusal replaces the rename banner, the trash's bulk
 * button waits for a selection, a refused name offers Remove (not Retry), and a folder trashed
 * during an upload keeps the page and says where the file went. (Steps build on each other.)
 */
test.describe.configure({ mode: "serial" });

const account = newAccount("uidefects");
const FOLDER = `Defects ${Date.now().toString(36)}`;

let context: BrowserContext;
let page: Page;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let folderPath = "";

const items = () => page.getByTestId("upload-item");
const fileRow = (name: string) => page.getByTestId("listing-file").filter({ hasText: name });

async function uploadText(name: string, text: string) {
  await page.getByTestId("tus-file-input").setInputFiles({ name, mimeType: "text/plain", buffer: Buffer.from(text) });
  await expect(items().filter({ hasText: name })).toHaveAttribute("data-status", "done", { timeout: 30_000 });
  await expect(fileRow(name)).toBeVisible();
}

async function fileId(name: string): Promise<string> {
  const href = await page.locator('main a[href^="/download/"]').filter({ hasText: name }).first().getAttribute("href");
  return href!.split("/").pop()!;
}

test.beforeAll(async ({ browser }) => {
  context = await browser.newContext({ baseURL: BASE_URL, viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  scratch = await scratchDir();
});

test.afterAll(async () => {
  await context?.close();
  await scratch?.cleanup();
});

test("sets up a folder with two files", async () => {
  await register(page, account);
  folderPath = `/files/${await createAndOpenFolder(page, FOLDER)}`;
  await uploadText("one.txt", "one");
  await uploadText("taken.txt", "taken");
});

test("a refused rename replaces the earlier “Renamed.” banner; its message shows once, by the form", async () => {
  await page.goto(`/details/file/${await fileId("one.txt")}`);
  await page.getByRole("link", { name: "Rename", exact: true }).click();
  await page.getByRole("textbox", { name: "New name" }).fill("two.txt");
  await page.getByRole("button", { name: "Rename", exact: true }).click();
  await expect(page.getByRole("status").filter({ hasText: "Renamed." })).toBeVisible();
  await page.getByRole("link", { name: "Rename", exact: true }).click();
  await page.getByRole("textbox", { name: "New name" }).fill("taken.txt");
  await page.getByRole("button", { name: "Rename", exact: true }).click();
  const refusal = page.locator("#rename-error");
  await expect(refusal).toContainText("already exists");
  await expect(page.getByText("Renamed.", { exact: true })).toHaveCount(0);
  await expect(page.getByText(/already exists/)).toHaveCount(1);
  await expect(page.getByRole("heading", { level: 1, name: "two.txt" })).toBeVisible();
});

test("the trash's “Restore selected” stays disabled until an item is ticked", async () => {
  await page.keyboard.press("Escape"); // the refused rename's dialog
  await page.getByRole("link", { name: "Move to trash", exact: true }).click();
  await page.getByRole("button", { name: "Move “two.txt” to trash" }).click();
  await expect(page).toHaveURL(/\/trash\?done=trashed/);
  const restore = page.getByRole("button", { name: "Restore selected" });
  await expect(restore).toBeDisabled();
  await expect(page.getByTestId("trash-selected-count")).toHaveText("Select items to restore them together.");
  await page.getByRole("checkbox", { name: "Select two.txt" }).check();
  await expect(restore).toBeEnabled();
  await expect(page.getByTestId("trash-selected-count")).toHaveText("1 selected");
  await restore.click();
  await expect(page.getByText("Restored 1 item.")).toBeVisible();
});

test("a name the server refuses shows why and offers Remove, not Retry", async () => {
  await page.goto(folderPath);
  const name = `${"n".repeat(300)}.txt`;
  await page.getByTestId("tus-file-input").setInputFiles({ name, mimeType: "text/plain", buffer: Buffer.from("too long a name") });
  const item = items().filter({ hasText: "nnnnnnnnnn" });
  await expect(item).toHaveAttribute("data-status", "error", { timeout: 30_000 });
  await expect(item).toContainText(/too long/i);
  await expect(item.getByRole("button", { name: "Retry", exact: true })).toHaveCount(0);
  await expect(page.getByRole("button", { name: "Retry failed" })).toHaveCount(0);
  await item.getByRole("button", { name: "Remove", exact: true }).click();
  await expect(item).toHaveCount(0);
});

test("a folder trashed in another tab during an upload: the page and its panel stay, and the file's place is told", async () => {
  await page.goto(folderPath);
  const doomedId = await createAndOpenFolder(page, "Doomed");
  const file = await randomFile(scratch.dir, "late.bin", 1_500_000);
  const unthrottle = await throttleUploads(page, 200_000);
  try {
    await page.getByTestId("tus-file-input").setInputFiles(file.path);
    const item = items().filter({ hasText: "late.bin" });
    await expect(item).toHaveAttribute("data-status", "uploading");
    const other = await context.newPage();
    await other.goto(`/details/folder/${doomedId}#trash`);
    await other.getByRole("button", { name: "Move “Doomed” to trash" }).click();
    await expect(other).toHaveURL(/\/trash\?done=trashed/);
    await other.close();
    await expect(item).toHaveAttribute("data-status", "done", { timeout: 45_000 });
  } finally {
    await unthrottle();
  }
  const item = items().filter({ hasText: "late.bin" });
  await expect(page.getByTestId("folder-gone")).toBeVisible();
  await expect(page.getByRole("heading", { level: 1, name: "Not found" })).toHaveCount(0);
  await expect(page.getByRole("heading", { level: 1, name: "Doomed" })).toBeVisible();
  await expect(item.getByTestId("upload-landed")).toContainText("moved to the trash");
  await item.getByRole("link", { name: "Open the trash" }).click();
  await expect(page.getByRole("checkbox", { name: "Select Doomed" })).toBeVisible();
});
