import { expect, test, type BrowserContext, type Page } from "@playwright/test";
import { createAndOpenFolder, newAccount, openUploadDialog, register } from "../support/helpers";

/**
 * The folder page without JavaScript (issue 16): the toolbar's Upload is a link to a :target
 * dialog holding the plain form, the row menus are <details> of links, the bulk bar's buttons are
 * the plain form's, the folder search is a GET form, and the shortcuts list is a :target dialog.
 */
test.describe.configure({ mode: "serial" });

let context: BrowserContext;
let page: Page;
let folderPath: string;
let folderId: string;

const fileRow = (name: string) => page.getByTestId("listing-file").filter({ has: page.getByRole("link", { name, exact: true }) });
const folderRow = (name: string) => page.getByTestId("listing-folder").filter({ has: page.getByRole("link", { name, exact: true }) });

test.beforeAll(async ({ browser }) => {
  context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
});

test.afterAll(async () => {
  await context?.close();
});

test("registers and opens a folder with a subfolder", async () => {
  await register(page, newAccount("folder-page-nojs"));
  folderId = await createAndOpenFolder(page, `Shelf ${Date.now().toString(36)}`);
  folderPath = `/files/${folderId}`;
  await page.getByLabel("New folder").fill("Letters");
  await page.getByRole("button", { name: "Create folder" }).click();
  await expect(folderRow("Letters")).toBeVisible();
});

test("the toolbar's Upload link opens the dialog with the plain form", async () => {
  // The plain form is not on the page until the dialog is opened; the uploader's scripts never run.
  await expect(page.locator("#upload-dialog")).toBeHidden();
  await expect(page.getByTestId("tus-file-input")).toHaveCount(0);
  await expect(page.getByTestId("drop-overlay")).toHaveCount(0);
  const link = page.getByTestId("folder-toolbar").getByRole("link", { name: "Upload", exact: true });
  await expect(link).toHaveAttribute("href", "#upload-dialog");
  await openUploadDialog(page);
  await expect(page).toHaveURL(/#upload-dialog$/);
  const dialog = page.locator("#upload-dialog");
  await expect(dialog.getByLabel("If a name is taken")).toBeVisible();
  await expect(dialog.locator("#upload-file")).toHaveAttribute("multiple", "");
  // "Close" leaves the dialog.
  await dialog.getByRole("link", { name: "Close" }).click();
  await expect(dialog).toBeHidden();
  await openUploadDialog(page);
  await page.locator("#upload-file").setInputFiles([
    { name: "note.txt", mimeType: "text/plain", buffer: Buffer.from("a plain upload") },
    { name: "other.txt", mimeType: "text/plain", buffer: Buffer.from("another") },
  ]);
  await page.getByRole("button", { name: "Upload", exact: true }).click();
  await expect(page.getByRole("status").filter({ hasText: "Uploaded 2 files." })).toBeVisible();
  await expect(fileRow("note.txt")).toBeVisible();
  // The listing is the page: its first row is above the fold.
  const row = (await page.locator("main tbody tr").first().boundingBox())!;
  expect(row.y + row.height).toBeLessThanOrEqual(800);
});

test("each row's actions menu is a <details> of links to the pages that do them", async () => {
  await page.goto(folderPath);
  const menu = fileRow("note.txt").getByTestId("row-menu");
  await menu.locator(":scope > summary").click();
  await expect(menu).toHaveAttribute("open", "");
  for (const name of ["Open", "Download", "Share", "Rename", "Move", "Copy", "Details", "Move to trash"])
    await expect(menu.getByRole("link", { name, exact: true })).toBeVisible();
  await expect(menu.getByRole("link", { name: "Download", exact: true })).toHaveAttribute("href", /^\/download\/\w+$/);
  await menu.getByRole("link", { name: "Move", exact: true }).click();
  await expect(page).toHaveURL(/\/details\/file\/\w+#move$/);
  await expect(page.getByRole("heading", { name: /^Move “/ })).toBeVisible();

  await page.goto(folderPath);
  const folderMenu = folderRow("Letters").getByTestId("row-menu");
  await folderMenu.locator(":scope > summary").click();
  await expect(folderMenu.getByRole("link", { name: "Download as ZIP", exact: true })).toHaveAttribute(
    "href",
    /^\/bulk\/zip\?from=.*&item=folder%3A\w+$/,
  );
  await folderMenu.getByRole("link", { name: "Move to trash", exact: true }).click();
  await expect(page).toHaveURL(/\/details\/folder\/\w+#trash$/);
});

test("the bulk bar's buttons submit the selection as before", async () => {
  await page.goto(folderPath);
  const bar = page.getByTestId("bulk-bar");
  await expect(bar).toContainText("With the selected items:");
  await expect(bar.getByRole("button", { name: "Clear selection" })).toHaveCount(0);
  await page.getByRole("checkbox", { name: "Select note.txt" }).check();
  await page.getByRole("checkbox", { name: "Select other.txt" }).check();
  await bar.getByRole("button", { name: "Move to trash…" }).click();
  await expect(page).toHaveURL(/\/bulk\?.*intent=trash/);
  await expect(page.locator("main")).toContainText("note.txt");
  await expect(page.locator("main")).toContainText("other.txt");
});

test("the folder's search box is a GET form to /search limited to the folder", async () => {
  await page.goto(folderPath);
  const box = page.getByRole("searchbox", { name: /Search in/ });
  await box.fill("note");
  await page.getByTestId("folder-toolbar").getByRole("button", { name: "Search", exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`/search\\?folder=${folderId}&q=note$`));
  await expect(page.getByLabel(/Only in “Shelf/)).toBeChecked();
  await expect(page.locator("main").getByText("note.txt").first()).toBeVisible();
});

test("the keyboard shortcuts are listed in a :target dialog", async () => {
  await page.goto(folderPath);
  const dialog = page.locator("#shortcuts");
  await expect(dialog).toBeHidden();
  await page.getByRole("link", { name: /Keyboard shortcuts/ }).click();
  await expect(dialog).toBeVisible();
  await expect(dialog.getByTestId("shortcuts-list")).toContainText("Upload files");
  await expect(dialog.getByTestId("shortcuts-list")).toContainText("F2");
  await dialog.getByRole("link", { name: "Close" }).click();
  await expect(dialog).toBeHidden();
});

test("below 640 px the listing is a list and the actions stay reachable", async () => {
  await page.setViewportSize({ width: 390, height: 800 });
  await page.goto(folderPath);
  await expect(page.locator("main thead")).toBeHidden();
  const row = fileRow("note.txt");
  const box = (await row.boundingBox())!;
  expect(box.width).toBeLessThanOrEqual(390);
  // No sideways scrolling, and the menu opens with its links on screen.
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  const menu = row.getByTestId("row-menu");
  await menu.locator(":scope > summary").click();
  const rename = menu.getByRole("link", { name: "Rename", exact: true });
  await rename.scrollIntoViewIfNeeded();
  await expect(rename).toBeInViewport({ ratio: 1 });
  const item = (await rename.boundingBox())!;
  expect(item.x).toBeGreaterThanOrEqual(0);
  expect(item.x + item.width).toBeLessThanOrEqual(390);
  // The search box gets a line of its own rather than being squeezed.
  expect((await page.locator("#folder-search").boundingBox())!.width).toBeGreaterThan(150);
  await page.setViewportSize({ width: 1280, height: 800 });
});
