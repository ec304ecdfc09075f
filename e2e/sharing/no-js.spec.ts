import { expect, test, type BrowserContext, type Page } from "@playwright/test";
import { BASE_URL } from "../support/env";
import {
  createAndOpenFolder,
  expectDownloadMatches,
  newAccount,
  randomFile,
  register,
  scratchDir,
  type TestFile,
  openUploadDialog,
} from "../support/helpers";

/**
 * A share link opened in a fresh browser (no session, no JavaScript): password form, folder
 * listing, a download with the exact bytes and the ZIP of the folder.
 * (In e2e/sharing/ so the no-js project's file pattern picks it up.)
 */
test.describe.configure({ mode: "serial" });

const account = newAccount("share");
const FOLDER = `Shared ${Date.now().toString(36)}`;
const PASSWORD = "blue skies ahead";

let owner: BrowserContext;
let ownerPage: Page;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let file: TestFile;
let shareUrl = "";
let folderPath = "";

test.beforeAll(async ({ browser }) => {
  owner = await browser.newContext({ baseURL: BASE_URL, javaScriptEnabled: false });
  ownerPage = await owner.newPage();
  scratch = await scratchDir();
});

test.afterAll(async () => {
  await owner?.close();
  await scratch?.cleanup();
});

test("the owner creates a password-protected link to a folder", async () => {
  await register(ownerPage, account);
  const folderId = await createAndOpenFolder(ownerPage, FOLDER);
  folderPath = `/files/${folderId}`;
  file = await randomFile(scratch.dir, "photo.jpg", 200_000);
  await openUploadDialog(ownerPage);
  await ownerPage.locator("#upload-file").setInputFiles([file.path]);
  await ownerPage.getByRole("button", { name: "Upload", exact: true }).click();
  await expect(ownerPage.getByRole("status").filter({ hasText: "Uploaded" })).toBeVisible();

  await ownerPage.goto(`/shares?item=folder:${folderId}`);
  await ownerPage.getByLabel("Password (optional)").fill(PASSWORD);
  await ownerPage.getByRole("button", { name: "Create link" }).click();
  const created = ownerPage.getByRole("status").filter({ hasText: "Link created:" });
  await expect(created).toBeVisible();
  shareUrl = /https?:\/\/\S+\/s\/[A-Za-z0-9_-]+/.exec((await created.textContent()) ?? "")![0];
  await expect(ownerPage.getByLabel("Link address").first()).toHaveValue(shareUrl);
});

test("a visitor in a fresh browser unlocks the link, downloads a file and the ZIP", async ({ browser }) => {
  const visitor = await browser.newContext({ baseURL: BASE_URL, javaScriptEnabled: false, acceptDownloads: true });
  try {
    const page = await visitor.newPage();
    await page.goto(shareUrl);
    await expect(page.getByRole("heading", { level: 1, name: "This folder is protected" })).toBeVisible();
    await expect(page.getByText("photo.jpg")).toHaveCount(0);

    await page.getByLabel("Password").fill("wrong guess");
    const wrong = page.waitForResponse((r) => r.request().method() === "POST");
    await page.getByRole("button", { name: "Open" }).click();
    expect((await wrong).status()).toBe(401);
    await expect(page.getByRole("alert")).toContainText("That password is not right.");
    // Said once, and the field points at it rather than repeating it.
    await expect(page.getByText("That password is not right.")).toHaveCount(1);
    await expect(page.getByLabel("Password")).toHaveAccessibleDescription(/^That password is not right\./);

    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Open" }).click();
    await expect(page.getByRole("heading", { level: 1, name: FOLDER })).toBeVisible();
    await expect(page.getByText(account.name)).toHaveCount(0);
    await expectDownloadMatches(page, file, page.locator("main"));

    const [zip] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Download all as ZIP" }).click()]);
    expect(zip.suggestedFilename()).toBe(`${FOLDER}.zip`);
    expect(await zip.failure()).toBeNull();
    await zip.delete();

    // The same cookie is not sent to other links, nor does another browser get in.
    const other = await browser.newContext({ baseURL: BASE_URL, javaScriptEnabled: false });
    const otherPage = await other.newPage();
    await otherPage.goto(shareUrl);
    await expect(otherPage.getByRole("heading", { level: 1, name: "This folder is protected" })).toBeVisible();
    await other.close();
  } finally {
    await visitor.close();
  }
});

test("every card of a share page has one width: file, password and error pages (issue 16)", async ({ browser }) => {
  await ownerPage.goto(folderPath);
  const details = await ownerPage.locator('main a[href^="/details/file/"]').first().getAttribute("href");
  await ownerPage.goto(`/shares?item=file:${details!.split("/").pop()}`);
  await ownerPage.getByRole("button", { name: "Create link" }).click();
  const created = ownerPage.getByRole("status").filter({ hasText: "Link created:" });
  const fileUrl = /https?:\/\/\S+\/s\/[A-Za-z0-9_-]+/.exec((await created.textContent()) ?? "")![0];

  const visitor = await browser.newContext({ baseURL: BASE_URL, javaScriptEnabled: false });
  try {
    const page = await visitor.newPage();
    const cardWidths = () =>
      page.locator("main .card").evaluateAll((cards) => cards.map((card) => Math.round(card.getBoundingClientRect().width)));
    await page.goto(fileUrl);
    await expect(page.getByTestId("file-viewer")).toBeVisible();
    const widths = await cardWidths();
    expect(widths.length).toBeGreaterThanOrEqual(2);
    expect(new Set(widths).size).toBe(1);
    await page.goto(shareUrl);
    await expect(page.getByRole("heading", { level: 1, name: "This folder is protected" })).toBeVisible();
    expect(await cardWidths()).toEqual([widths[0]]);
    await page.goto(`/s/${"y".repeat(43)}`);
    await expect(page.getByRole("heading", { level: 1, name: "Link not found" })).toBeVisible();
    expect(await cardWidths()).toEqual([widths[0]]);
  } finally {
    await visitor.close();
  }
});

test("an unknown link shows a 404 page", async ({ browser }) => {
  const visitor = await browser.newContext({ baseURL: BASE_URL, javaScriptEnabled: false });
  const page = await visitor.newPage();
  const response = await page.goto(`/s/${"x".repeat(43)}`);
  expect(response?.status()).toBe(404);
  await expect(page.getByRole("heading", { level: 1, name: "Link not found" })).toBeVisible();
  await visitor.close();
});
