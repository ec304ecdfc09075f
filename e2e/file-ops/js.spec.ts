import type { BrowserContext, Page } from "@playwright/test";
import { expect, test } from "../support/test";
import { BASE_URL } from "../support/env";
import { createAndOpenFolder, newAccount, register } from "../support/helpers";

/** Moving by drag and drop with JavaScript (steps build on each other in one session). */
test.describe.configure({ mode: "serial" });

const account = newAccount("dragmove");
const BASE = `Drag ${Date.now().toString(36)}`;

let context: BrowserContext;
let page: Page;
let basePath = "";

const fileRow = (name: string) => page.getByTestId("listing-file").filter({ hasText: name });
const folderRow = (name: string) => page.getByTestId("listing-folder").filter({ hasText: name });
const tree = () => page.getByRole("navigation", { name: "Folder tree" }).first();
const status = () => page.getByTestId("drag-move-status");

async function uploadText(name: string, text: string) {
  await page.getByTestId("tus-file-input").setInputFiles({ name, mimeType: "text/plain", buffer: Buffer.from(text) });
  await expect(page.getByTestId("upload-item").filter({ hasText: name })).toHaveAttribute("data-status", "done", { timeout: 30_000 });
  await expect(fileRow(name)).toBeVisible();
}

async function createFolder(name: string) {
  await page.getByLabel("New folder").fill(name);
  await page.getByRole("button", { name: "Create folder" }).click();
  await expect(folderRow(name)).toBeVisible();
}

test.beforeAll(async ({ browser }) => {
  context = await browser.newContext({ baseURL: BASE_URL, viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
});

test.afterAll(async () => {
  await context?.close();
});

test("sets up a folder with files and subfolders", async () => {
  await register(page, account);
  basePath = `/files/${await createAndOpenFolder(page, BASE)}`;
  await createFolder("Target");
  await createFolder("Other");
  await uploadText("alpha.txt", "alpha");
  await uploadText("bravo.txt", "bravo");
  await uploadText("charlie.txt", "charlie");
});

test("creating a folder in My files leaves the address at /files, and the page still works", async () => {
  await page.goto("/files");
  await page.getByLabel("New folder").fill(`${BASE} address`);
  await page.getByRole("button", { name: "Create folder" }).click();
  await expect(page.getByText(`Created folder “${BASE} address”.`)).toBeVisible();
  await expect(page).toHaveURL(/\/files$/);
  await page.getByLabel("New folder").fill(`${BASE} again`);
  await page.getByRole("button", { name: "Create folder" }).click();
  await expect(page.getByText(`Created folder “${BASE} again”.`)).toBeVisible();
  await expect(page).toHaveURL(/\/files$/);
  await page.reload();
  await expect(folderRow(`${BASE} again`)).toBeVisible();
});

test("drags a file onto a folder row: it moves there and the listing updates", async () => {
  await page.goto(basePath);
  await expect(fileRow("alpha.txt")).toHaveAttribute("draggable", "true");
  await fileRow("alpha.txt").getByRole("cell").nth(1).dragTo(folderRow("Target"));
  await expect(status()).toContainText("Moved 1 item.");
  await expect(fileRow("alpha.txt")).toHaveCount(0);
  await folderRow("Target").getByRole("link", { name: "Target", exact: true }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Target" })).toBeVisible();
  await expect(fileRow("alpha.txt")).toBeVisible();
});

test("drags a file onto a folder of the tree", async () => {
  // Inside Target, the tree lists its sibling Other.
  await page.goto(basePath);
  await folderRow("Target").getByRole("link", { name: "Target", exact: true }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Target" })).toBeVisible();
  const treeFolder = tree().getByRole("link", { name: "Other", exact: true });
  await expect(treeFolder).toBeVisible();
  await expect(fileRow("alpha.txt")).toHaveAttribute("draggable", "true");
  await fileRow("alpha.txt").getByRole("cell").nth(1).dragTo(treeFolder);
  await expect(status()).toContainText("Moved 1 item.");
  await expect(fileRow("alpha.txt")).toHaveCount(0);
  await treeFolder.click();
  await expect(page.getByRole("heading", { level: 1, name: "Other" })).toBeVisible();
  await expect(fileRow("alpha.txt")).toBeVisible();
});

test("drags the selection onto a breadcrumb, and a name clash asks what to do", async () => {
  // In Other: select both files and drop them on the base folder's breadcrumb.
  await page.goto(basePath);
  await expect(fileRow("charlie.txt")).toHaveAttribute("draggable", "true");
  await fileRow("charlie.txt").getByRole("cell").nth(1).dragTo(folderRow("Other"));
  await expect(status()).toContainText("Moved 1 item.");
  await folderRow("Other").getByRole("link", { name: "Other", exact: true }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Other" })).toBeVisible();
  await page.getByRole("checkbox", { name: "Select alpha.txt" }).check();
  await page.getByRole("checkbox", { name: "Select charlie.txt" }).check();
  const crumb = page.getByRole("navigation", { name: "Breadcrumb" }).getByRole("link", { name: BASE, exact: true });
  await fileRow("alpha.txt").getByRole("cell").nth(1).dragTo(crumb);
  await expect(status()).toContainText("Moved 2 items.");
  await expect(fileRow("alpha.txt")).toHaveCount(0);
  await expect(fileRow("charlie.txt")).toHaveCount(0);

  // A file of the same name in the destination: the server skips it and the page asks.
  await page.goto(basePath);
  await expect(fileRow("bravo.txt")).toHaveAttribute("draggable", "true");
  await fileRow("bravo.txt").getByRole("cell").nth(1).dragTo(folderRow("Target"));
  await expect(status()).toContainText("Moved 1 item.");
  await uploadText("bravo.txt", "second bravo");
  await fileRow("bravo.txt").getByRole("cell").nth(1).dragTo(folderRow("Target"));
  await expect(status()).toContainText("“bravo.txt” already exists");
  await status().getByRole("button", { name: "Keep both" }).click();
  await expect(status()).toContainText("Moved 1 item.");
  await expect(fileRow("bravo.txt")).toHaveCount(0);
  await folderRow("Target").getByRole("link", { name: "Target", exact: true }).click();
  await expect(fileRow("bravo (1).txt")).toBeVisible();
  await expect(fileRow("bravo.txt")).toBeVisible();
});

test("dropping a folder onto itself shows the server's refusal", async () => {
  await page.goto(basePath);
  await expect(folderRow("Target")).toHaveAttribute("draggable", "true");
  const target = folderRow("Target");
  await target
    .getByRole("cell")
    .nth(1)
    .dragTo(target, { targetPosition: { x: 20, y: 10 } });
  await expect(status().getByRole("alert")).toContainText("A folder cannot be moved into itself");
  await expect(folderRow("Target")).toBeVisible();
});

test("drags a tile onto a folder tile in the grid view", async () => {
  await page.goto(`${basePath}?view=grid`);
  await expect(page.getByTestId("folder-grid")).toBeVisible();
  const tile = fileRow("alpha.txt").locator("div").first();
  await expect(tile).toHaveAttribute("draggable", "true");
  await tile.dragTo(folderRow("Other").locator("div").first());
  await expect(status()).toContainText("Moved 1 item.");
  await expect(fileRow("alpha.txt")).toHaveCount(0);
  await page.goto(`${basePath}?view=list`);
  await folderRow("Other").getByRole("link", { name: "Other", exact: true }).click();
  await expect(fileRow("alpha.txt")).toBeVisible();
});
