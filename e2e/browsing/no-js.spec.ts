import path from "node:path";
import { expect, test, type BrowserContext, type Page, type TestInfo } from "@playwright/test";
import { BASE_URL } from "../support/env";
import { createAndOpenFolder, newAccount, randomFile, register, scratchDir, openUploadDialog } from "../support/helpers";

/**
 * Browsing without JavaScript: sort links with aria-sort, the list/grid switch remembered by a
 * cookie, the folder tree and details links; screenshots at phone and desktop widths.
 * (In e2e/browsing/ so the no-js project's file pattern picks it up.)
 */
test.describe.configure({ mode: "serial" });

const account = newAccount("browse");
const FOLDER = `Gallery ${Date.now().toString(36)}`;
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };

let context: BrowserContext;
let page: Page;
let folderPath = "";
let scratch: Awaited<ReturnType<typeof scratchDir>>;

async function snapshot(testInfo: TestInfo, name: string) {
  const file = testInfo.outputPath(`${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  await testInfo.attach(name, { path: file, contentType: "image/png" });
  if (process.env.BROWSING_SCREENSHOTS)
    await page.screenshot({ path: path.join(process.env.BROWSING_SCREENSHOTS, `${name}.png`), fullPage: true });
}

test.beforeAll(async ({ browser }) => {
  context = await browser.newContext({ baseURL: BASE_URL, javaScriptEnabled: false, viewport: DESKTOP });
  page = await context.newPage();
  scratch = await scratchDir();
});

test.afterAll(async () => {
  await context?.close();
  await scratch?.cleanup();
});

test("fills a folder with subfolders and files", async () => {
  await register(page, account);
  folderPath = `/files/${await createAndOpenFolder(page, FOLDER)}`;
  for (const name of ["Holidays", "Birthdays"]) {
    await page.getByLabel("New folder").fill(name);
    await page.getByRole("button", { name: "Create folder" }).click();
    await expect(page.getByText(`Created folder “${name}”.`)).toBeVisible();
  }
  const files = await Promise.all([
    randomFile(scratch.dir, "beach-sunset-panorama-with-a-rather-long-name.jpg", 300_000),
    randomFile(scratch.dir, "notes.txt", 1_200),
    randomFile(scratch.dir, "budget.pdf", 45_000),
  ]);
  await openUploadDialog(page);
  await page.locator("#upload-file").setInputFiles(files.map((f) => f.path));
  await page.getByRole("button", { name: "Upload", exact: true }).click();
  await expect(page.getByRole("status").filter({ hasText: "Uploaded 3 files." })).toBeVisible();
  await expect(page.getByTestId("folder-summary")).toHaveText("2 folders, 3 files");
});

test("sorts with the column header links, announced with aria-sort", async ({}, testInfo) => {
  const table = page.locator("main table");
  await expect(table.getByRole("columnheader", { name: "Name" })).toHaveAttribute("aria-sort", "ascending");
  await table.getByRole("link", { name: "Size" }).click();
  await expect(page).toHaveURL(/\?sort=size$/);
  await expect(table.getByRole("columnheader", { name: "Size" })).toHaveAttribute("aria-sort", "ascending");
  await expect(table.getByRole("columnheader", { name: "Name" })).not.toHaveAttribute("aria-sort", /.*/);
  // Folders first (by name), then files from the smallest.
  const names = await page.locator("main tbody tr td:first-child").allInnerTexts();
  expect(names.map((n) => n.trim())).toEqual([
    "Birthdays",
    "Holidays",
    "notes.txt",
    "budget.pdf",
    "beach-sunset-panorama-with-a-rather-long-name.jpg",
  ]);
  await table.getByRole("link", { name: "Size" }).click();
  await expect(page).toHaveURL(/\?sort=size&dir=desc$/);
  await expect(table.getByRole("columnheader", { name: "Size" })).toHaveAttribute("aria-sort", "descending");
  await snapshot(testInfo, "list-1280");
  await page.setViewportSize(PHONE);
  await snapshot(testInfo, "list-390");
  await page.setViewportSize(DESKTOP);
});

test("the sort form works too (for the grid and narrow screens)", async () => {
  await page.getByLabel("Sort by").selectOption("modified");
  await page.getByLabel("Order").selectOption("desc");
  await page.getByRole("button", { name: "Sort", exact: true }).click();
  await expect(page).toHaveURL(/\?sort=modified&dir=desc$/);
  await expect(page.locator("main table").getByRole("columnheader", { name: "Modified" })).toHaveAttribute("aria-sort", "descending");
});

test("each row has a details link named after the item", async () => {
  const details = page.getByRole("link", { name: "Details of notes.txt" });
  await expect(details).toHaveAttribute("href", /^\/details\/file\/\w+$/);
  await expect(page.getByRole("link", { name: "Details of Holidays" })).toHaveAttribute("href", /^\/details\/folder\/\w+$/);
});

test("switches to the grid, which is remembered", async ({}, testInfo) => {
  await page.getByRole("group", { name: "View" }).getByRole("link", { name: "Grid view" }).click();
  await expect(page.getByTestId("folder-grid")).toBeVisible();
  await expect(page.locator("main table")).toHaveCount(0);
  await expect(page.getByRole("link", { name: "Grid view" })).toHaveAttribute("aria-current", "true");
  await page.goto(folderPath);
  await expect(page.getByTestId("folder-grid")).toBeVisible();
  await expect(page.getByTestId("folder-grid").getByRole("link", { name: "notes.txt", exact: true })).toHaveAttribute(
    "href",
    /^\/download\//,
  );
  await snapshot(testInfo, "grid-1280");
  await page.setViewportSize(PHONE);
  await snapshot(testInfo, "grid-390");
  await page.setViewportSize(DESKTOP);
  await page.getByRole("link", { name: "List view" }).click();
  await expect(page.locator("main table")).toBeVisible();
});

test("the folder tree shows the path, marks the current folder, and folds away on phones", async ({}, testInfo) => {
  await page.getByRole("link", { name: "Holidays", exact: true }).click();
  const tree = page.getByRole("navigation", { name: "Folder tree" });
  await expect(tree).toHaveCount(1);
  await expect(tree.getByRole("link", { name: "My files" })).toHaveAttribute("href", "/files");
  await expect(tree.getByRole("link", { name: FOLDER })).toBeVisible();
  await expect(tree.getByRole("link", { name: "Birthdays" })).toBeVisible();
  await expect(tree.getByRole("link", { name: "Holidays" })).toHaveAttribute("aria-current", "page");
  await snapshot(testInfo, "tree-1280");

  await page.setViewportSize(PHONE);
  await expect(page.getByRole("navigation", { name: "Folder tree" })).toHaveCount(0);
  await page.locator("main details summary").filter({ hasText: "Folders" }).click();
  const folded = page.getByRole("navigation", { name: "Folder tree" });
  await expect(folded.getByRole("link", { name: "Holidays" })).toHaveAttribute("aria-current", "page");
  await snapshot(testInfo, "tree-390");
  await page.setViewportSize(DESKTOP);
  await folded.getByRole("link", { name: FOLDER }).click();
  await expect(page.getByRole("heading", { level: 1, name: FOLDER })).toBeVisible();
});

/** How many lines each piece of an element's text takes (one entry per child element). */
function linesOfEachPart(element: Element): number[] {
  return Array.from(element.children, (part) => {
    const range = document.createRange();
    range.selectNodeContents(part);
    return new Set(Array.from(range.getClientRects(), (rect) => Math.round(rect.top))).size;
  }).filter((lines) => lines > 0);
}

test("a 250-character name keeps its row readable: three lines at most, the type cut only at its slash", async ({}, testInfo) => {
  await createAndOpenFolder(page, `Long names ${Date.now().toString(36)}`);
  const name = `${"a-quarterly-report-draft-".repeat(10)}.bin`;
  expect(name.length).toBe(254);
  await openUploadDialog(page);
  await page.locator("#upload-file").setInputFiles((await randomFile(scratch.dir, name, 100)).path);
  await page.getByRole("button", { name: "Upload", exact: true }).click();
  await expect(page.getByRole("status").filter({ hasText: "Uploaded" })).toBeVisible();
  const row = page.getByTestId("listing-file");
  const type = row.locator("td").nth(2);
  await expect(type).toHaveText("application/octet-stream");
  // "application/" and "octet-stream" may sit on two lines, but neither is cut in two.
  expect(await type.evaluate(linesOfEachPart)).toEqual([1, 1]);
  // The whole name is still the link's name and its tooltip; the row shows three lines of it.
  const link = row.getByRole("link", { name });
  await expect(link.locator("[title]")).toHaveAttribute("title", name);
  const shown = await link
    .locator("[title]")
    .evaluate((span) => span.getBoundingClientRect().height / Number.parseFloat(getComputedStyle(span).lineHeight));
  expect(Math.round(shown)).toBeLessThanOrEqual(3);
  await snapshot(testInfo, "long-name-1280");
});
