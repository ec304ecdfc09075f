import fs from "node:fs/promises";
import { expect, test, type Browser, type BrowserContext, type Page } from "@playwright/test";
import { formatBytes } from "../app/lib/format";
import { ADMIN, BASE_URL } from "./support/env";
import {
  createAndOpenFolder,
  expectDownloadMatches,
  login,
  logOut,
  MiB,
  newAccount,
  randomFile,
  register,
  scratchDir,
  type TestFile,
  openUploadDialog,
} from "./support/helpers";

/**
 * Everything works without JavaScript: plain forms and links. The steps build on each other,
 * so they run in order in one browser context (JavaScript disabled, also for extra contexts).
 */
test.describe.configure({ mode: "serial" });

const account = newAccount("nojs");
const FOLDER = `Archive ${Date.now().toString(36)}`;

let context: BrowserContext;
let page: Page;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let file: TestFile;

const noJsContext = (browser: Browser) => browser.newContext({ baseURL: BASE_URL, javaScriptEnabled: false, acceptDownloads: true });

test.beforeAll(async ({ browser }) => {
  context = await noJsContext(browser);
  page = await context.newPage();
  scratch = await scratchDir();
});

test.afterAll(async () => {
  await context?.close();
  await scratch?.cleanup();
});

test("registers and lands on my files", async () => {
  await register(page, account);
  // Without JavaScript the resumable uploader never replaces the plain form.
  await expect(page.locator("#upload-file")).toBeAttached();
  await expect(page.getByTestId("tus-file-input")).toHaveCount(0);
});

test("creates a folder and opens it", async () => {
  await createAndOpenFolder(page, FOLDER);
  await expect(page.getByText("This folder is empty.")).toBeVisible();
});

test("uploads with the plain multipart form", async () => {
  file = await randomFile(scratch.dir, "tax-return-scans.bin", 2 * MiB + 777);
  await openUploadDialog(page);
  await page.locator("#upload-file").setInputFiles(file.path);
  await page.getByRole("button", { name: "Upload", exact: true }).click();
  await expect(page.getByRole("status").filter({ hasText: `Uploaded “${file.name}”.` })).toBeVisible();
  const row = page.locator("main tbody tr").filter({ has: page.getByRole("link", { name: file.name, exact: true }) });
  await expect(row).toBeVisible();
  await expect(row).toContainText(formatBytes(file.size));
});

test("downloads the file byte for byte", async () => {
  await expectDownloadMatches(page, file, page.locator("main table"));
});

test("searches with the GET form", async () => {
  await page.goto("/search");
  await expect(page.getByText("Type part of a file or folder name.")).toBeVisible();
  await page.getByLabel("Search names and file contents").fill("tax-retrun");
  await page.locator("main").getByRole("button", { name: "Search" }).click();
  await expect(page).toHaveURL(/\/search\?q=tax-retrun(&|$)/);
  await expect(page.getByRole("heading", { level: 2 })).toContainText("for “tax-retrun”");
  const hit = page.locator("main ul").getByRole("link", { name: file.name });
  await expect(hit).toBeVisible();
  await expectDownloadMatches(page, file, page.locator("main ul"));

  await page.getByLabel("Search names and file contents").fill("zzqxv-nothing-like-it");
  await page.locator("main").getByRole("button", { name: "Search" }).click();
  await expect(page.getByText("Nothing matches “zzqxv-nothing-like-it”.")).toBeVisible();
});

test("the admin sees every account with its storage used", async ({ browser }) => {
  const adminContext = await noJsContext(browser);
  try {
    const admin = await adminContext.newPage();
    await login(admin, ADMIN);
    await admin.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Admin" }).click();
    await expect(admin).toHaveURL(/\/admin$/);
    await expect(admin.getByRole("heading", { level: 1, name: "Administration" })).toBeVisible();
    await expect(admin.getByTestId("overview-accounts")).toContainText("active account");
    await admin.getByRole("navigation", { name: "Administration" }).getByRole("link", { name: "Users" }).click();
    await expect(admin).toHaveURL(/\/admin\/users$/);
    await expect(admin.getByRole("heading", { level: 1, name: "Users" })).toBeVisible();
    const users = admin.getByRole("table");
    await expect(users.getByRole("columnheader", { name: "Storage used" })).toBeVisible();

    const adminRow = admin.getByTestId("admin-user-row").filter({ hasText: ADMIN.email });
    await expect(adminRow.getByTestId("role")).toHaveText("Admin");

    const row = admin.getByTestId("admin-user-row").filter({ hasText: account.email });
    await expect(row).toHaveCount(1);
    await expect(row.getByRole("cell").nth(0)).toHaveText(account.name);
    await expect(row.getByTestId("role")).toHaveText("User");
    await expect(row.getByRole("cell").nth(3)).toHaveText("1");
    await expect(row.getByTestId("storage-used")).toHaveText(formatBytes(file.size));
  } finally {
    await adminContext.close();
  }
});

test("the admin filters the audit log and exports it as CSV", async ({ browser }) => {
  const adminContext = await noJsContext(browser);
  try {
    const admin = await adminContext.newPage();
    await login(admin, ADMIN);
    await admin.goto("/admin");
    await admin.getByRole("link", { name: "Audit log" }).click();
    await expect(admin).toHaveURL(/\/admin\/audit$/);
    await expect(admin.getByRole("heading", { level: 1, name: "Audit log" })).toBeVisible();
    await admin.getByLabel("Actor email contains").fill("nobody-like-this@example.invalid");
    await admin.getByRole("button", { name: "Apply filters" }).click();
    await expect(admin).toHaveURL(/actor=nobody-like-this%40example\.invalid/);
    await expect(admin.getByTestId("audit-empty")).toContainText("No events match these filters");
    const downloading = admin.waitForEvent("download");
    await admin.getByRole("link", { name: "Export CSV (filtered)" }).click();
    const csv = await fs.readFile((await (await downloading).path())!, "utf8");
    expect(csv).toBe("time,action,outcome,actor,actor_id,ip,user_agent,target_type,target_id,details\r\n");
    await admin.getByRole("link", { name: "Clear filters" }).first().click();
    await expect(admin).toHaveURL(/\/admin\/audit$/);
    // The export just made is in the log now.
    await expect(admin.getByTestId("audit-row").filter({ hasText: "admin.audit_exported" }).first()).toBeVisible();
  } finally {
    await adminContext.close();
  }
});

test("an ordinary account gets 403 at /admin", async ({ browser }) => {
  const otherContext = await noJsContext(browser);
  try {
    const other = await otherContext.newPage();
    await register(other, newAccount("nojs-second"));
    await expect(other.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Admin" })).toHaveCount(0);
    const response = await other.goto("/admin");
    expect(response?.status()).toBe(403);
    await expect(other.getByRole("heading", { level: 1, name: "Access denied" })).toBeVisible();
    await expect(other.getByText("Only administrators can open this page.")).toBeVisible();
    await expect(other.getByText(account.email)).toHaveCount(0);
  } finally {
    await otherContext.close();
  }
  // The first account of the no-JS run is not an admin either.
  const response = await page.goto("/admin");
  expect(response?.status()).toBe(403);
});

test("logs out; my files then need a login", async () => {
  await page.goto("/files");
  await logOut(page);
  await expect(page).toHaveURL(/\/login$/);
  const response = await page.goto("/files");
  await expect(page).toHaveURL(/\/login\?redirectTo=%2Ffiles$/);
  expect(response?.status()).toBe(200);
  await expect(page.getByRole("button", { name: "Log in" })).toBeVisible();
});
