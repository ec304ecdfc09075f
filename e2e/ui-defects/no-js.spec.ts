import { expect, test, type BrowserContext, type Page } from "@playwright/test";
import { BASE_URL } from "../support/env";
import { createAndOpenFolder, newAccount, register, openUploadDialog } from "../support/helpers";

/**
 * Defects of issue 16 without JavaScript: a refusal replaces the rename banner, "Restore
 * selected" with nothing ticked explains itself, and registering a taken email does not say so.
 */
test.describe.configure({ mode: "serial" });

const account = newAccount("uidefects-nojs");
const FOLDER = `Defects ${Date.now().toString(36)}`;

let context: BrowserContext;
let page: Page;
let fileId = "";

test.beforeAll(async ({ browser }) => {
  context = await browser.newContext({ baseURL: BASE_URL, javaScriptEnabled: false });
  page = await context.newPage();
});

test.afterAll(async () => {
  await context?.close();
});

async function uploadText(name: string) {
  await openUploadDialog(page);
  await page.locator("#upload-file").setInputFiles({ name, mimeType: "text/plain", buffer: Buffer.from(name) });
  await page.getByRole("button", { name: "Upload", exact: true }).click();
  await expect(page.getByRole("status").filter({ hasText: `Uploaded “${name}”.` })).toBeVisible();
}

test("sets up a folder with two files", async () => {
  await register(page, account);
  await createAndOpenFolder(page, FOLDER);
  await uploadText("one.txt");
  await uploadText("taken.txt");
  const href = await page.locator('main a[href^="/download/"]').filter({ hasText: "one.txt" }).first().getAttribute("href");
  fileId = href!.split("/").pop()!;
});

test("a refused rename replaces the earlier “Renamed.” banner; its message shows once, by the form", async () => {
  await page.goto(`/details/file/${fileId}`);
  await page.getByRole("link", { name: "Rename", exact: true }).click();
  await page.getByLabel("New name", { exact: true }).fill("two.txt");
  await page.getByRole("button", { name: "Rename", exact: true }).click();
  await expect(page).toHaveURL(/\?done=renamed$/);
  await expect(page.getByRole("status").filter({ hasText: "Renamed." })).toBeVisible();
  await page.getByRole("link", { name: "Rename", exact: true }).click();
  await page.getByLabel("New name", { exact: true }).fill("taken.txt");
  const refused = page.waitForResponse((r) => r.request().method() === "POST");
  await page.getByRole("button", { name: "Rename", exact: true }).click();
  expect((await refused).status()).toBe(409);
  await expect(page.locator("#rename-error")).toContainText("already exists");
  await expect(page.getByText("Renamed.", { exact: true })).toHaveCount(0);
  await expect(page.getByText(/already exists/)).toHaveCount(1);
});

test("“Restore selected” with nothing ticked says what to do and leads back to the trash", async () => {
  await page.getByRole("link", { name: "Move to trash", exact: true }).click();
  await page.getByRole("button", { name: "Move “two.txt” to trash" }).click();
  await expect(page).toHaveURL(/\/trash\?done=trashed/);
  const answer = page.waitForResponse((r) => r.request().method() === "POST");
  await page.getByRole("button", { name: "Restore selected" }).click();
  expect((await answer).status()).toBe(400);
  await expect(page.getByRole("heading", { level: 1, name: "Nothing was changed" })).toBeVisible();
  await expect(
    page.getByText("Nothing was selected. Tick the items you want back in the trash, then choose “Restore selected”."),
  ).toBeVisible();
  await page.getByRole("link", { name: "Back to the trash" }).click();
  await expect(page).toHaveURL(/\/trash$/);
  await expect(page.getByRole("checkbox", { name: "Select two.txt" })).toBeVisible();
});

test("registering an email that has an account does not say so, and signs nobody in", async ({ browser }) => {
  const stranger = await browser.newContext({ baseURL: BASE_URL, javaScriptEnabled: false });
  try {
    const other = await stranger.newPage();
    await other.goto("/register");
    await other.getByLabel("Name", { exact: true }).fill("Someone Else");
    await other.getByLabel("Email", { exact: true }).fill(account.email);
    await other.getByLabel("Password", { exact: true }).fill("a different long password");
    await other.getByRole("button", { name: "Create account" }).click();
    await expect(other).toHaveURL(/\/register\?check=1$/);
    await expect(other.getByRole("heading", { level: 1, name: /Check your email|No account was created/ })).toBeVisible();
    await expect(other.getByText(/already (exists|has|registered)|is taken/i)).toHaveCount(0);
    expect((await stranger.cookies()).some((cookie) => cookie.name === "coffer_session")).toBe(false);
  } finally {
    await stranger.close();
  }
});
