import { mkdir } from "node:fs/promises";
import path from "node:path";
import type { BrowserContext, Page } from "@playwright/test";
import { expect, test } from "../support/test";
import { BASE_URL } from "../support/env";
import {
  MiB,
  createAndOpenFolder,
  expectDownloadMatches,
  newAccount,
  randomFile,
  register,
  scratchDir,
  throttleUploads,
  type TestFile,
} from "../support/helpers";

/** Folder uploads and the upload queue with JavaScript, as one user's session (steps build on each other). */
test.describe.configure({ mode: "serial" });

const account = newAccount("uploads");
const FOLDER = `Uploads ${Date.now().toString(36)}`;

let context: BrowserContext;
let page: Page;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let folderPath = "";

const table = () => page.locator("main table");
const link = (name: string) => table().getByRole("link", { name, exact: true });
const items = () => page.getByTestId("upload-item");

test.beforeAll(async ({ browser }) => {
  context = await browser.newContext({ baseURL: BASE_URL, acceptDownloads: true });
  page = await context.newPage();
  scratch = await scratchDir();
});

test.afterAll(async () => {
  await context?.close();
  await scratch?.cleanup();
});

test("registers and opens a fresh folder", async () => {
  await register(page, account);
  folderPath = `/files/${await createAndOpenFolder(page, FOLDER)}`;
});

test("uploads a chosen folder and recreates its structure, bytes intact", async () => {
  const root = path.join(scratch.dir, "Trip");
  await mkdir(path.join(root, "Day 1", "Morning"), { recursive: true });
  const top = await randomFile(root, "itinerary.bin", 300_000);
  const day = await randomFile(path.join(root, "Day 1"), "photo-a.bin", 1 * MiB + 17);
  const deep = await randomFile(path.join(root, "Day 1", "Morning"), "photo-b.bin", 2 * MiB + 5);

  // "Upload a folder" (in the toolbar's upload options menu) is a label for the webkitdirectory
  // input, reachable by keyboard: Tab from the Upload button, Enter, then Tab into the menu.
  await page.getByLabel("Upload", { exact: true }).focus();
  await page.keyboard.press("Tab");
  await page.keyboard.press("Enter");
  await expect(page.getByText("Upload a folder")).toBeVisible();
  await page.keyboard.press("Tab");
  await expect(page.getByLabel("Upload a folder")).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(page.getByTestId("tus-folder-input")).toHaveAttribute("webkitdirectory", "");
  await page.getByTestId("tus-folder-input").setInputFiles(root);
  await expect(items()).toHaveCount(3);
  for (const item of await items().all()) await expect(item).toHaveAttribute("data-status", "done", { timeout: 30_000 });
  await expect(page.getByTestId("upload-totals")).toContainText("3 of 3 files");
  await expect(page.getByTestId("upload-summary")).toHaveText("3 of 3 files uploaded.");

  await expect(link("Trip")).toBeVisible();
  await link("Trip").click();
  await expect(page.getByRole("heading", { level: 1, name: "Trip" })).toBeVisible();
  await expect(link("Day 1")).toBeVisible();
  await expectDownloadMatches(page, top, table());
  await link("Day 1").click();
  await expect(page.getByRole("heading", { level: 1, name: "Day 1" })).toBeVisible();
  await expectDownloadMatches(page, day, table());
  await link("Morning").click();
  await expect(page.getByRole("heading", { level: 1, name: "Morning" })).toBeVisible();
  await expectDownloadMatches(page, deep, table());
});

test("uploading the same folder again reuses the folders (keep both for the files)", async () => {
  await page.goto(folderPath);
  const root = path.join(scratch.dir, "Trip");
  await page.getByTestId("tus-folder-input").setInputFiles(root);
  await expect(items()).toHaveCount(3);
  for (const item of await items().all()) await expect(item).toHaveAttribute("data-status", "done", { timeout: 30_000 });
  await expect(link("Trip")).toHaveCount(1);
  await link("Trip").click();
  await expect(link("Day 1")).toHaveCount(1);
  await expect(link("itinerary (1).bin")).toBeVisible();
});

test("accepts a drop of files on the drop zone", async () => {
  await page.goto(folderPath);
  await page.getByTestId("upload-drop-zone").evaluate((zone) => {
    const transfer = new DataTransfer();
    transfer.items.add(new File(["dropped bytes"], "dropped.txt", { type: "text/plain" }));
    zone.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
  });
  await expect(items().filter({ hasText: "dropped.txt" })).toHaveAttribute("data-status", "done", { timeout: 30_000 });
  await expect(link("dropped.txt")).toBeVisible();
});

test("recreates a folder dragged from the desktop and dropped on the drop zone", async () => {
  await page.goto(folderPath);
  const root = path.join(scratch.dir, "Dropped album");
  await mkdir(path.join(root, "Summer"), { recursive: true });
  const loose = await randomFile(root, "cover.bin", 40_000);
  const inner = await randomFile(path.join(root, "Summer"), "beach.bin", 700_000);

  // A real OS-level drag of a directory through DevTools, so the page reads it with
  // DataTransferItem.webkitGetAsEntry and FileSystemDirectoryEntry like a desktop drop.
  // On the drop zone's heading: a drop on a folder row would go into that folder instead.
  const box = (await page.getByTestId("upload-drop-zone").getByRole("heading", { level: 1 }).boundingBox())!;
  const at = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  const cdp = await context.newCDPSession(page);
  const data = { items: [], files: [root], dragOperationsMask: 1 };
  for (const type of ["dragEnter", "dragOver", "drop"] as const) await cdp.send("Input.dispatchDragEvent", { type, ...at, data });
  await cdp.detach();

  await expect(items()).toHaveCount(2);
  for (const item of await items().all()) await expect(item).toHaveAttribute("data-status", "done", { timeout: 30_000 });
  await expect(items().filter({ hasText: "Dropped album/Summer/beach.bin" })).toHaveCount(1);
  await link("Dropped album").click();
  await expect(link("Summer")).toBeVisible();
  await expectDownloadMatches(page, loose, table());
  await link("Summer").click();
  await expectDownloadMatches(page, inner, table());
});

test("a dropped folder tree keeps its empty folders", async () => {
  await page.goto(folderPath);
  const root = path.join(scratch.dir, "Sparse tree");
  await mkdir(path.join(root, "Empty one"), { recursive: true });
  await mkdir(path.join(root, "Nested", "Empty two"), { recursive: true });
  await randomFile(root, "keep.bin", 10_000);

  // On the drop zone's heading: a drop on a folder row would go into that folder instead.
  const box = (await page.getByTestId("upload-drop-zone").getByRole("heading", { level: 1 }).boundingBox())!;
  const at = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  const cdp = await context.newCDPSession(page);
  const data = { items: [], files: [root], dragOperationsMask: 1 };
  for (const type of ["dragEnter", "dragOver", "drop"] as const) await cdp.send("Input.dispatchDragEvent", { type, ...at, data });
  await cdp.detach();

  await expect(items()).toHaveCount(1);
  await expect(items().first()).toHaveAttribute("data-status", "done", { timeout: 30_000 });
  await expect(link("Sparse tree")).toHaveCount(1);
  await link("Sparse tree").click();
  await expect(page.getByRole("heading", { level: 1, name: "Sparse tree" })).toBeVisible();
  await expect(link("Empty one")).toBeVisible();
  await expect(link("keep.bin")).toBeVisible();
  await link("Nested").click();
  await expect(page.getByRole("heading", { level: 1, name: "Nested" })).toBeVisible();
  await expect(link("Empty two")).toBeVisible();
  await link("Empty two").click();
  await expect(page.getByText("This folder is empty.")).toBeVisible();
});

test("runs at most N uploads at once; the rest wait as queued; pause all and resume all", async () => {
  await page.goto(folderPath);
  const files: TestFile[] = [];
  for (let i = 0; i < 6; i++) files.push(await randomFile(scratch.dir, `parallel-${i}.bin`, 2 * MiB + i));
  // "At once" is in the toolbar's upload options menu.
  await page.getByTestId("upload-options").locator(":scope > summary").click();
  await page.getByLabel("At once").selectOption("2");
  await page.keyboard.press("Escape");

  // Records the largest number of items uploading at the same time, from the DOM itself.
  await page.evaluate(() => {
    const w = window as unknown as { __maxUploading: number; __sawQueued: boolean };
    w.__maxUploading = 0;
    w.__sawQueued = false;
    const check = () => {
      const n = document.querySelectorAll("[data-testid=upload-item][data-status=uploading]").length;
      w.__maxUploading = Math.max(w.__maxUploading, n);
      if (document.querySelector("[data-testid=upload-item][data-status=queued]")) w.__sawQueued = true;
    };
    new MutationObserver(check).observe(document.body, {
      subtree: true,
      childList: true,
      attributes: true,
      attributeFilter: ["data-status"],
    });
  });

  const unthrottle = await throttleUploads(page, 2 * MiB);
  try {
    await page.getByTestId("tus-file-input").setInputFiles(files.map((f) => f.path));
    await expect(items()).toHaveCount(6);
    await expect(page.locator("[data-testid=upload-item][data-status=uploading]")).toHaveCount(2);
    await expect(page.locator("[data-testid=upload-item][data-status=queued]")).toHaveCount(4);

    // Per-file buttons say which file they act on (as their accessible description).
    const first = items().filter({ hasText: files[0].name });
    await expect(first.getByRole("button", { name: "Cancel", exact: true })).toHaveAccessibleDescription(files[0].name);
    await expect(page.getByRole("list", { name: "Upload queue" }).getByRole("listitem")).toHaveCount(6);

    await page.getByRole("button", { name: "Pause all" }).click();
    await expect(page.locator("[data-testid=upload-item][data-status=paused]")).toHaveCount(6);
    await expect(page.locator("[data-testid=upload-item][data-status=uploading]")).toHaveCount(0);
    await page.getByRole("button", { name: "Resume all" }).click();
    await expect(page.locator("[data-testid=upload-item][data-status=uploading]")).toHaveCount(2);
  } finally {
    await unthrottle();
  }
  for (const item of await items().all()) await expect(item).toHaveAttribute("data-status", "done", { timeout: 60_000 });
  const seen = await page.evaluate(() => {
    const w = window as unknown as { __maxUploading: number; __sawQueued: boolean };
    return { __maxUploading: w.__maxUploading, __sawQueued: w.__sawQueued };
  });
  expect(seen.__maxUploading).toBe(2);
  expect(seen.__sawQueued).toBe(true);
  await expect(page.getByTestId("upload-totals")).toContainText("6 of 6 files");
  for (const file of files) await expect(link(file.name)).toBeVisible();
  await expectDownloadMatches(page, files[5], table());
});

test("a failed upload shows the server's reason and can be retried (a refusal a retry can change: 429)", async () => {
  await page.goto(folderPath);
  const file = await randomFile(scratch.dir, "retry-me.bin", 123_456);
  let refused = 0;
  await page.route("**/api/uploads", async (route) => {
    if (route.request().method() === "POST" && refused === 0) {
      refused++;
      await route.fulfill({ status: 429, body: "Simulated refusal", headers: { "Tus-Resumable": "1.0.0" } });
    } else await route.continue();
  });
  try {
    await page.getByTestId("tus-file-input").setInputFiles(file.path);
    const item = items().filter({ hasText: file.name });
    await expect(item).toHaveAttribute("data-status", "error");
    await expect(item).toContainText("Simulated refusal");
    await expect(page.getByTestId("upload-summary")).toContainText("1 failed");
    await item.getByRole("button", { name: "Retry", exact: true }).click();
    await expect(item).toHaveAttribute("data-status", "done", { timeout: 30_000 });
  } finally {
    await page.unroute("**/api/uploads");
  }
  expect(refused).toBe(1);
  await expectDownloadMatches(page, file, table());
});
