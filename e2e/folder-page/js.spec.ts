import type { BrowserContext, Page } from "@playwright/test";
import { expect, test } from "../support/test";
import { createAndOpenFolder, MiB, newAccount, randomFile, register, scratchDir, throttleUploads } from "../support/helpers";

/**
 * The folder page with JavaScript (issue 16): the toolbar's Upload, drop anywhere, the queue
 * panel, the row menus, the bulk bar, the folder search box and the keyboard shortcuts.
 */
test.describe.configure({ mode: "serial" });

let context: BrowserContext;
let page: Page;
let folderPath: string;
let folderId: string;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
const errors: string[] = [];

const items = () => page.getByTestId("upload-item");
const fileRow = (name: string) => page.getByTestId("listing-file").filter({ has: page.getByRole("link", { name, exact: true }) });
const folderRow = (name: string) => page.getByTestId("listing-folder").filter({ has: page.getByRole("link", { name, exact: true }) });

test.beforeAll(async ({ browser }) => {
  scratch = await scratchDir();
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
  page.on("pageerror", (error) => errors.push(error.message));
});

test.afterAll(async () => {
  await context?.close();
  await scratch?.cleanup();
});

test("registers and opens a folder with a subfolder", async () => {
  await register(page, newAccount("folder-page-js"));
  folderId = await createAndOpenFolder(page, `Desk ${Date.now().toString(36)}`);
  folderPath = `/files/${folderId}`;
  await page.getByLabel("New folder").fill("Inbox");
  await page.getByRole("button", { name: "Create folder" }).click();
  await expect(folderRow("Inbox")).toBeVisible();
});

test("the toolbar's Upload opens the picker and the queue panel shows the upload", async () => {
  const toolbar = page.getByTestId("folder-toolbar");
  // The upload card is gone: Upload is the toolbar's primary control, a label around the file input.
  await expect(page.getByRole("heading", { name: "Upload files" })).toHaveCount(0);
  await expect(toolbar.getByText("Upload", { exact: true })).toBeVisible();
  const [chooser] = await Promise.all([page.waitForEvent("filechooser"), toolbar.getByText("Upload", { exact: true }).click()]);
  expect(chooser.isMultiple()).toBe(true);
  await chooser.setFiles({ name: "picked.txt", mimeType: "text/plain", buffer: Buffer.from("picked with the button") });
  await expect(items().filter({ hasText: "picked.txt" })).toHaveAttribute("data-status", "done", { timeout: 30_000 });
  await expect(fileRow("picked.txt")).toBeVisible();
  const panel = page.getByTestId("upload-panel");
  await expect(panel).toBeVisible();
  await expect(panel.getByTestId("upload-totals")).toContainText("1 of 1 files");
  // The panel sits in the bottom right corner.
  const box = (await panel.boundingBox())!;
  expect(box.y + box.height).toBeGreaterThan(700);
  expect(box.x + box.width).toBeGreaterThan(1200);
  // The policy and "At once" moved into the Upload options menu.
  await page.getByTestId("upload-options").locator(":scope > summary").click();
  await expect(page.getByLabel("If a name is taken")).toBeVisible();
  await expect(page.getByLabel("At once")).toBeVisible();
  await page.keyboard.press("Escape");
  await expect(page.getByTestId("upload-options")).not.toHaveAttribute("open", "");
});

test("dragging files over the window shows the full-window overlay; a drop anywhere uploads", async () => {
  const overlay = page.getByTestId("drop-overlay");
  await expect(overlay).toHaveCount(0);
  await page.evaluate(() => {
    const transfer = new DataTransfer();
    transfer.items.add(new File(["dropped anywhere"], "dropped.txt", { type: "text/plain" }));
    (window as unknown as { __transfer: DataTransfer }).__transfer = transfer;
    document.querySelector("h1")!.dispatchEvent(new DragEvent("dragenter", { dataTransfer: transfer, bubbles: true, cancelable: true }));
  });
  await expect(overlay).toBeVisible();
  await expect(overlay).toContainText("Drop to upload");
  const box = (await overlay.boundingBox())!;
  expect(box.width).toBe(1280);
  expect(box.height).toBe(800);
  // Leaving the window hides it again.
  await page.evaluate(() => {
    const transfer = (window as unknown as { __transfer: DataTransfer }).__transfer;
    document.querySelector("h1")!.dispatchEvent(new DragEvent("dragleave", { dataTransfer: transfer, bubbles: true, cancelable: true }));
  });
  await expect(overlay).toHaveCount(0);
  await page.evaluate(() => {
    const transfer = (window as unknown as { __transfer: DataTransfer }).__transfer;
    const target = document.querySelector("[data-testid=folder-summary]")!;
    target.dispatchEvent(new DragEvent("dragenter", { dataTransfer: transfer, bubbles: true, cancelable: true }));
    target.dispatchEvent(new DragEvent("dragover", { dataTransfer: transfer, bubbles: true, cancelable: true }));
    target.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
  });
  await expect(overlay).toHaveCount(0);
  await expect(items().filter({ hasText: "dropped.txt" })).toHaveAttribute("data-status", "done", { timeout: 30_000 });
  await expect(fileRow("dropped.txt")).toBeVisible();
});

/** Drags a file from the "desktop" over `selector`'s element and drops it there, like the OS would. */
async function dropFileOn(selector: string, name: string, body: string) {
  await page.evaluate(
    ({ selector, name, body }) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([body], name, { type: "text/plain" }));
      (window as unknown as { __transfer: DataTransfer }).__transfer = transfer;
      const target = document.querySelector(selector)!;
      target.dispatchEvent(new DragEvent("dragenter", { dataTransfer: transfer, bubbles: true, cancelable: true }));
      target.dispatchEvent(new DragEvent("dragover", { dataTransfer: transfer, bubbles: true, cancelable: true }));
    },
    { selector, name, body },
  );
}
async function finishDrop(selector: string) {
  await page.evaluate((selector) => {
    const transfer = (window as unknown as { __transfer: DataTransfer }).__transfer;
    document.querySelector(selector)!.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
  }, selector);
}

test("files dropped on a folder row or tile upload into that folder, not the open one", async () => {
  const overlay = page.getByTestId("drop-overlay");
  const inboxId = await folderRow("Inbox").getAttribute("data-drop-folder");
  expect(inboxId).toBeTruthy();
  // Over the row's name cell: the overlay steps aside to a banner naming the row's folder, and the row is marked.
  const onRow = `[data-testid=listing-folder][data-drop-folder="${inboxId}"] td`;
  await dropFileOn(onRow, "into-row.txt", "dropped on a row");
  await expect(overlay).toContainText("Drop to upload into “Inbox”");
  await expect(overlay).toHaveAttribute("data-drop-into", inboxId!);
  await expect(folderRow("Inbox")).toHaveAttribute("data-upload-over", "");
  await finishDrop(onRow);
  await expect(overlay).toHaveCount(0);
  await expect(folderRow("Inbox")).not.toHaveAttribute("data-upload-over");
  await expect(items().filter({ hasText: "into-row.txt" })).toHaveAttribute("data-status", "done", { timeout: 30_000 });

  // A grid tile takes a drop the same way.
  await page.goto(`${folderPath}?view=grid`);
  const onTile = `[data-testid=folder-grid] [data-drop-folder="${inboxId}"] span`;
  // The drop targets are marked once the page's scripts run.
  await page.locator(onTile).first().waitFor();
  await dropFileOn(onTile, "into-tile.txt", "dropped on a tile");
  await expect(overlay).toContainText("Drop to upload into “Inbox”");
  await finishDrop(onTile);
  await expect(items().filter({ hasText: "into-tile.txt" })).toHaveAttribute("data-status", "done", { timeout: 30_000 });
  await page.goto(`${folderPath}?view=list`);

  // Neither landed in the open folder; both are in Inbox.
  await expect(fileRow("dropped.txt")).toBeVisible();
  await expect(fileRow("into-row.txt")).toHaveCount(0);
  await expect(fileRow("into-tile.txt")).toHaveCount(0);
  await page.goto(`/files/${inboxId}`);
  await expect(fileRow("into-row.txt")).toBeVisible();
  await expect(fileRow("into-tile.txt")).toBeVisible();
  await page.goto(folderPath);
});

test("the queue panel collapses, and pauses, resumes and cancels a file", async () => {
  const big = await randomFile(scratch.dir, "slow-one.bin", 6 * MiB);
  const other = await randomFile(scratch.dir, "slow-two.bin", 6 * MiB);
  const unthrottle = await throttleUploads(page, 300_000);
  try {
    await page.getByTestId("tus-file-input").setInputFiles([big.path, other.path]);
    const one = items().filter({ hasText: "slow-one.bin" });
    const two = items().filter({ hasText: "slow-two.bin" });
    await expect(one).toHaveAttribute("data-status", "uploading");
    await expect(page.getByTestId("upload-totals")).toContainText(/\/s · .* left/, { timeout: 15_000 });
    await expect(page.getByLabel("All uploads")).toBeVisible();

    const toggle = page.getByTestId("upload-panel-toggle");
    await expect(toggle).toHaveAttribute("aria-expanded", "true");
    await toggle.click();
    await expect(toggle).toHaveAttribute("aria-expanded", "false");
    await expect(one).toBeHidden();
    // Collapsed, the overall progress and speed stay in view.
    await expect(page.getByTestId("upload-totals")).toBeVisible();
    await toggle.click();
    await expect(one).toBeVisible();

    await one.getByRole("button", { name: "Pause" }).click();
    await expect(one).toHaveAttribute("data-status", "paused");
    await one.getByRole("button", { name: "Resume" }).click();
    await expect(one).not.toHaveAttribute("data-status", "paused");
    await two.getByRole("button", { name: "Cancel" }).click();
    await expect(two).toHaveCount(0);
    await one.getByRole("button", { name: "Cancel" }).click();
    await expect(one).toHaveCount(0);
  } finally {
    await unthrottle();
  }
});

test("at 1280×800 the listing's first row is above the fold while an upload runs", async () => {
  await page.goto(folderPath);
  const big = await randomFile(scratch.dir, "fold.bin", 8 * MiB);
  const unthrottle = await throttleUploads(page, 200_000);
  try {
    await page.getByTestId("tus-file-input").setInputFiles(big.path);
    const item = items().filter({ hasText: "fold.bin" });
    await expect(item).toHaveAttribute("data-status", "uploading");
    const first = page.locator("main tbody tr").first();
    const row = (await first.boundingBox())!;
    expect(row.y).toBeGreaterThanOrEqual(0);
    expect(row.y + row.height).toBeLessThanOrEqual(800);
    // …and the queue panel does not cover it.
    const panel = (await page.getByTestId("upload-panel").boundingBox())!;
    expect(row.y + row.height <= panel.y || row.x + row.width <= panel.x).toBe(true);
    // Focus never hides under the panel: Tab to the last row's menu and check it is above the panel.
    await page.getByRole("group", { name: "Selected items" }).getByText("Select all").focus();
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press("Tab");
      const inPanel = await page.evaluate(() => !!document.activeElement?.closest("[data-testid=upload-panel]"));
      if (inPanel) break;
      const focused = await page.evaluate(() => {
        const box = document.activeElement!.getBoundingClientRect();
        const top = document.querySelector("[data-testid=upload-panel]")!.getBoundingClientRect().top;
        const panelLeft = document.querySelector("[data-testid=upload-panel]")!.getBoundingClientRect().left;
        return { bottom: box.bottom, right: box.right, top, panelLeft };
      });
      expect(focused.bottom <= focused.top + 1 || focused.right <= focused.panelLeft).toBe(true);
    }
    await item.getByRole("button", { name: "Cancel" }).click();
  } finally {
    await unthrottle();
  }
});

test("each row's actions menu links to the page that does the action", async () => {
  await page.goto(folderPath);
  const row = fileRow("picked.txt");
  const menu = row.getByTestId("row-menu");
  await menu.locator(":scope > summary").click();
  await expect(menu).toHaveAttribute("open", "");
  for (const name of ["Open", "Download", "Share", "Rename", "Move", "Copy", "Details", "Move to trash"])
    await expect(menu.getByRole("link", { name, exact: true })).toBeVisible();
  // The arrow keys move between the items; Escape closes and gives the focus back.
  await page.keyboard.press("ArrowDown");
  await expect(menu.getByRole("link", { name: "Open", exact: true })).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(menu).not.toHaveAttribute("open", "");

  await menu.locator(":scope > summary").click();
  const [download] = await Promise.all([page.waitForEvent("download"), menu.getByRole("link", { name: "Download", exact: true }).click()]);
  expect(download.suggestedFilename()).toBe("picked.txt");
  await download.delete();

  await menu.locator(":scope > summary").click();
  await menu.getByRole("link", { name: "Rename", exact: true }).click();
  await expect(page).toHaveURL(/\/details\/file\/\w+#rename$/);
  await expect(page.getByRole("heading", { name: "Rename" })).toBeVisible();

  await page.goto(folderPath);
  const folderMenu = folderRow("Inbox").getByTestId("row-menu");
  await folderMenu.locator(":scope > summary").click();
  await folderMenu.getByRole("link", { name: "Open", exact: true }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Inbox" })).toBeVisible();

  // The grid's tiles have the same menu.
  await page.goto(`${folderPath}?view=grid`);
  const tileMenu = page.getByTestId("folder-grid").getByTestId("listing-file").first().getByTestId("row-menu");
  await tileMenu.locator(":scope > summary").click();
  await expect(tileMenu.getByRole("link", { name: "Move", exact: true })).toBeVisible();
  await page.goto(`${folderPath}?view=list`);
});

test("selecting rows brings a sticky bulk bar with the count and Clear selection", async () => {
  await page.goto(folderPath);
  const bar = page.getByTestId("bulk-bar");
  await expect(bar).toHaveAttribute("data-active", "false");
  await expect(bar.getByRole("button", { name: "Clear selection" })).toHaveCount(0);
  await page.getByRole("checkbox", { name: "Select picked.txt" }).check();
  await page.getByRole("checkbox", { name: "Select dropped.txt" }).check();
  await expect(bar).toHaveAttribute("data-active", "true");
  await expect(page.getByTestId("bulk-count")).toHaveText("2 selected");
  expect(await bar.evaluate((el) => getComputedStyle(el).position)).toBe("sticky");
  // A row focused while scrolling back up lands below the sticky bar, not under it.
  await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
  const barHeight = (await bar.boundingBox())!.height;
  expect(Number.parseFloat(await page.evaluate(() => document.documentElement.style.scrollPaddingTop))).toBeGreaterThanOrEqual(barHeight);
  for (const name of ["Download as ZIP", "Copy…", "Move…", "Move to trash…"]) await expect(bar.getByRole("button", { name })).toBeEnabled();
  await bar.getByRole("button", { name: "Clear selection" }).click();
  await expect(page.getByTestId("bulk-count")).toHaveText("0 selected");
  await expect(bar).toHaveAttribute("data-active", "false");
  await expect(page.getByRole("checkbox", { name: "Select picked.txt" })).not.toBeChecked();
});

test("the folder's search box searches in this folder", async () => {
  await page.goto(folderPath);
  const box = page.getByRole("searchbox", { name: /Search in/ });
  await box.fill("picked");
  await box.press("Enter");
  await expect(page).toHaveURL(new RegExp(`/search\\?folder=${folderId}&q=picked$`));
  await expect(page.getByLabel(/Only in “Desk/)).toBeChecked();
  await expect(page.locator("main").getByText("picked.txt").first()).toBeVisible();
});

test("keyboard shortcuts, and the ? overlay listing them", async () => {
  await page.goto(folderPath);
  await page.locator("h1").click();
  await page.keyboard.press("?");
  const overlay = page.getByRole("dialog", { name: "Keyboard shortcuts" });
  await expect(overlay).toBeVisible();
  await expect(overlay.getByTestId("shortcuts-list")).toContainText("Rename the focused item");
  await page.keyboard.press("Escape");
  await expect(overlay).toBeHidden();

  await page.keyboard.press("/");
  await expect(page.locator("#folder-search")).toBeFocused();
  // Keys typed in a field are text, not shortcuts.
  await page.keyboard.type("an");
  await expect(page.locator("#folder-search")).toHaveValue("an");
  await expect(page.getByTestId("bulk-count")).toHaveText("0 selected");
  await page.locator("#folder-search").fill("");

  await page.locator("h1").click();
  await page.keyboard.press("n");
  await expect(page.getByLabel("New folder")).toBeFocused();
  await expect(page.getByLabel("New folder")).toHaveValue("");

  await page.locator("h1").click();
  const chooser = page.waitForEvent("filechooser");
  await page.keyboard.press("u");
  await (await chooser).setFiles([]);

  await page.locator("h1").click();
  await page.keyboard.press("a");
  await expect(page.getByTestId("bulk-count")).toHaveText(/^[3-9] selected$/);
  await page.getByTestId("bulk-bar").getByRole("button", { name: "Clear selection" }).click();
  // Ctrl+A in the listing selects its items.
  await page.getByRole("checkbox", { name: "Select picked.txt" }).focus();
  await page.keyboard.press("Control+a");
  await expect(page.getByRole("checkbox", { name: "Select dropped.txt" })).toBeChecked();
  await page.getByTestId("bulk-bar").getByRole("button", { name: "Clear selection" }).click();

  // Delete: the selection to the trash, after the confirmation page.
  await page.getByRole("checkbox", { name: "Select dropped.txt" }).check();
  await page.keyboard.press("Delete");
  await expect(page).toHaveURL(/\/bulk\?.*intent=trash/);
  await page.goto(folderPath);

  // F2 renames and Enter opens the row whose checkbox has the focus.
  await page.getByRole("checkbox", { name: "Select picked.txt" }).focus();
  await page.keyboard.press("F2");
  await expect(page).toHaveURL(/\/details\/file\/\w+#rename$/);
  await page.goto(folderPath);
  await page.getByRole("checkbox", { name: "Select Inbox" }).focus();
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { level: 1, name: "Inbox" })).toBeVisible();
  expect(errors).toEqual([]);
});
