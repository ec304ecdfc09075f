import type { BrowserContext, Page, Request } from "@playwright/test";
import { expect, test } from "./support/test";
import { formatBytes } from "../app/lib/format";
import { BASE_URL } from "./support/env";
import {
  createAndOpenFolder,
  expectDownloadMatches,
  logOut,
  MiB,
  newAccount,
  progressOf,
  randomFile,
  register,
  scratchDir,
  throttleUploads,
  type TestFile,
  waitForLiveConnection,
} from "./support/helpers";

/**
 * The JavaScript experience, as one user's session: the steps build on each other (account →
 * folder → uploads → search → logout), so they run in order in one browser context.
 */
test.describe.configure({ mode: "serial" });

const account = newAccount("js");
const FOLDER = `Field trip ${Date.now().toString(36)}`;
/** Upload bandwidth while a test needs an upload to be caught mid-way. */
const SLOW_UPLOAD = 20 * MiB;

let context: BrowserContext;
let page: Page;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let folderPath = "";
let small: TestFile;

/** Every tus request the page sends, to check that resumed uploads continue rather than restart. */
const tusRequests: { method: string; offset: number | null; url: string }[] = [];
const recordTus = (request: Request) => {
  if (!new URL(request.url()).pathname.startsWith("/api/uploads")) return;
  const offset = request.headers()["upload-offset"];
  tusRequests.push({ method: request.method(), offset: offset === undefined ? null : Number(offset), url: request.url() });
};

const uploadInput = () => page.getByTestId("tus-file-input");
const uploadItem = (file: TestFile) => page.getByTestId("upload-item").filter({ hasText: file.name });
const listingLink = (p: Page, file: TestFile) => p.locator("main table").getByRole("link", { name: file.name, exact: true });

test.beforeAll(async ({ browser }) => {
  context = await browser.newContext({ baseURL: BASE_URL, acceptDownloads: true });
  page = await context.newPage();
  page.on("request", recordTus);
  scratch = await scratchDir();
});

test.afterAll(async () => {
  await context?.close();
  await scratch?.cleanup();
});

test("registers and lands on my files", async () => {
  await register(page, account);
  await expect(page.getByText("This folder is empty.")).toBeVisible();
  // Not the first account on this server (global setup made the admin), so no Admin link.
  await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Admin" })).toHaveCount(0);
});

test("creates a folder and opens it", async () => {
  const id = await createAndOpenFolder(page, FOLDER);
  folderPath = `/files/${id}`;
  await expect(page.getByRole("navigation", { name: "Breadcrumb" }).getByRole("link", { name: "My files" })).toBeVisible();
  await expect(page.getByText("This folder is empty.")).toBeVisible();
});

test("uploads with the resumable uploader; another open tab shows a live notice and the new row", async () => {
  small = await randomFile(scratch.dir, "aurora-borealis-notes.bin", 3 * MiB + 12_345);

  // The second tab is open on the same folder (and connected for live events) before the upload.
  const other = await context.newPage();
  const connected = waitForLiveConnection(other);
  await other.goto(folderPath);
  await connected;
  await expect(other.getByText("This folder is empty.")).toBeVisible();
  // Survives only if the listing updates in place rather than by reloading the page.
  await other.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));

  await uploadInput().setInputFiles(small.path);
  const item = uploadItem(small);
  await expect(item).toHaveAttribute("data-status", "done", { timeout: 30_000 });
  await expect(item).toContainText("Uploaded");
  await expect(item.getByRole("progressbar")).toHaveAttribute("aria-valuenow", "100");
  const row = page.locator("main tbody tr").filter({ has: page.getByRole("link", { name: small.name, exact: true }) });
  await expect(row).toBeVisible();
  await expect(row).toContainText(formatBytes(small.size));

  await expect(other.getByTestId("live-notice")).toHaveText(`“${small.name}” was uploaded.`);
  await expect(listingLink(other, small)).toBeVisible();
  await expect(other.getByText("This folder is empty.")).toHaveCount(0);
  expect(await other.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
  await other.close();
});

test("downloads the uploaded file byte for byte", async () => {
  await expectDownloadMatches(page, small, page.locator("main table"));
});

test("pauses and resumes a large upload", async () => {
  const big = await randomFile(scratch.dir, "pause-and-resume.bin", 60 * MiB);
  const unthrottle = await throttleUploads(page, SLOW_UPLOAD);
  try {
    await uploadInput().setInputFiles(big.path);
    const item = uploadItem(big);
    await expect(item).toHaveAttribute("data-status", "uploading");
    await expect.poll(() => progressOf(item), { message: "upload progress before pausing" }).toBeGreaterThan(0);

    const patchesBeforePause = tusRequests.filter((r) => r.method === "PATCH").length;
    await item.getByRole("button", { name: "Pause" }).click();
    await expect(item).toHaveAttribute("data-status", "paused");
    await expect(item).toContainText(/Paused at \d+%/);
    const pausedAt = await progressOf(item);
    expect(pausedAt).toBeGreaterThan(0);
    expect(pausedAt).toBeLessThan(100);
    await expect(item.getByRole("button", { name: "Resume" })).toBeVisible();
    await expect(item.getByRole("button", { name: "Pause" })).toHaveCount(0);

    await item.getByRole("button", { name: "Resume" }).click();
    await expect(item).toHaveAttribute("data-status", "done", { timeout: 45_000 });
    // Resuming continued from where the server had got to, not from byte 0.
    const resumedPatches = tusRequests.filter((r) => r.method === "PATCH").slice(patchesBeforePause);
    expect(resumedPatches.length, "PATCH requests after resuming").toBeGreaterThan(0);
    expect(resumedPatches[0].offset, "Upload-Offset of the first PATCH after resuming").toBeGreaterThan(0);
  } finally {
    await unthrottle();
  }
  await expect(listingLink(page, big)).toBeVisible();
  await expectDownloadMatches(page, big, page.locator("main table"));
});

test("resumes an interrupted upload after a page reload", async () => {
  const big = await randomFile(scratch.dir, "survives-a-reload.bin", 60 * MiB);
  let unthrottle = await throttleUploads(page, SLOW_UPLOAD);
  try {
    await uploadInput().setInputFiles(big.path);
    const item = uploadItem(big);
    await expect.poll(() => progressOf(item), { message: "upload progress before reloading" }).toBeGreaterThan(0);
    expect(await progressOf(item)).toBeLessThan(100);
    const creations = tusRequests.filter((r) => r.method === "POST").length;

    await page.reload();
    await unthrottle();
    unthrottle = await throttleUploads(page, SLOW_UPLOAD);

    const notice = page.getByRole("status").filter({ hasText: "Unfinished uploads in this folder" });
    await expect(notice).toBeVisible();
    await expect(notice).toContainText(big.name);
    await expect(uploadItem(big)).toHaveCount(0);

    const patchesBeforeResume = tusRequests.filter((r) => r.method === "PATCH").length;
    await uploadInput().setInputFiles(big.path);
    await expect(item).toContainText("resumed");
    await expect(item).toHaveAttribute("data-status", "done", { timeout: 45_000 });
    await expect(notice).toHaveCount(0);

    expect(tusRequests.filter((r) => r.method === "POST").length, "no new upload was created").toBe(creations);
    const resumedPatches = tusRequests.filter((r) => r.method === "PATCH").slice(patchesBeforeResume);
    expect(resumedPatches.length, "PATCH requests after the reload").toBeGreaterThan(0);
    expect(resumedPatches[0].offset, "Upload-Offset of the first PATCH after the reload").toBeGreaterThan(0);
  } finally {
    await unthrottle();
  }
  // What the server stored is exactly the original.
  await expect(listingLink(page, big)).toBeVisible();
  await expectDownloadMatches(page, big, page.locator("main table"));
});

test("finds the file from the header search box despite a misspelling", async ({}, testInfo) => {
  await page.goto(folderPath);
  // A sub-folder too, so the listing (and the screenshot of it) shows both kinds of rows.
  await page.getByLabel("New folder").fill("Receipts");
  await page.getByRole("button", { name: "Create folder" }).click();
  await expect(page.locator("main table").getByRole("link", { name: "Receipts", exact: true })).toBeVisible();
  await expect(page.locator("main tbody tr")).toHaveCount(4);
  const screenshot = testInfo.outputPath("files.png");
  await page.screenshot({ path: screenshot, fullPage: true });
  await testInfo.attach("files listing", { path: screenshot, contentType: "image/png" });
  if (process.env.E2E_SCREENSHOT) await page.screenshot({ path: process.env.E2E_SCREENSHOT, fullPage: true });

  const search = page.getByRole("searchbox", { name: "Search files" });
  await search.fill("borealsi");
  await search.press("Enter");
  await expect(page).toHaveURL(/\/search\?q=borealsi$/);
  await expect(page.getByRole("heading", { level: 1, name: "Search" })).toBeVisible();
  const results = page.locator("main ul");
  await expect(results.getByRole("link", { name: small.name })).toBeVisible();
  await expect(results.getByRole("link", { name: small.name })).toHaveAttribute("href", /^\/download\//);
});

test("logs out; my files then need a login", async () => {
  await logOut(page);
  await expect(page).toHaveURL(/\/login$/);
  await page.goto("/files");
  await expect(page).toHaveURL(/\/login\?redirectTo=%2Ffiles$/);
  await expect(page.getByRole("heading", { name: "Log in to Coffer" })).toBeVisible();
});
