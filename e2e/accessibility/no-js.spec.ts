import { expect, test, type BrowserContext, type Page } from "@playwright/test";
import { expectAccessible } from "../support/a11y";
import { BASE_URL } from "../support/env";
import { myUserId, unsubscribePath } from "../notification-settings/steps";
import { createAndOpenFolder, newAccount, openUploadDialog, register } from "../support/helpers";

/**
 * Without JavaScript the pages render other controls (the plain upload form, the bulk bar's
 * fallback text, no "Select all"): axe checks those too, at desktop and phone widths.
 * axe itself is a script, so the page's JavaScript is switched off by refusing to load the app's
 * scripts (they never hydrate the server-rendered page) rather than with javaScriptEnabled.
 */
// Each test checks several pages at two viewports: twice the default limit keeps a busy CI
// machine from failing a clean page.
test.describe.configure({ mode: "serial", timeout: 120_000 });

const account = newAccount("a11ynojs");
let context: BrowserContext;
let page: Page;

test.beforeAll(async ({ browser }) => {
  context = await browser.newContext({ baseURL: BASE_URL, javaScriptEnabled: true });
  await context.route(/\.m?js(\?|$)/, (route) => route.abort());
  page = await context.newPage();
});

test.afterAll(async () => {
  await context?.close();
});

test("login and register forms", async () => {
  for (const path of ["/login", "/register"]) {
    await page.goto(path);
    await expectAccessible(page, `${path} (no JavaScript)`);
  }
});

test("the API documentation, generated from the OpenAPI document", async () => {
  await page.goto("/api/docs");
  await expect(page.getByRole("heading", { level: 1, name: /Coffer API/ })).toBeVisible();
  await expect(page.getByRole("heading", { name: "List a folder" })).toBeVisible();
  await expectAccessible(page, "/api/docs (no JavaScript)");
});

test("my files with the plain upload form, in list and grid views, and a result message", async () => {
  await register(page, account);
  // The app's scripts really did not run: the resumable uploader would have replaced the plain form.
  await expect(page.getByTestId("tus-file-input")).toHaveCount(0);
  await expectAccessible(page, "/files (empty, no JavaScript)");
  const folderId = await createAndOpenFolder(page, "Letters");
  await openUploadDialog(page);
  await page.locator("#upload-file").setInputFiles({ name: "letter.txt", mimeType: "text/plain", buffer: Buffer.from("Dear reader,\n") });
  await page.getByRole("button", { name: "Upload", exact: true }).click();
  await expect(page.getByRole("status").filter({ hasText: "Uploaded “letter.txt”." })).toBeVisible();
  await expect(page.getByTestId("bulk-bar")).toContainText("With the selected items:");
  await expectAccessible(page, "/files/<folder> (uploaded, no JavaScript)");
  await page.goto(`/files/${folderId}?view=grid`);
  await expectAccessible(page, "/files/<folder> (grid, no JavaScript)");
  await page.goto("/files?view=list");
  await expectAccessible(page, "/files (list, no JavaScript)");
});

test("webhooks: the empty page, one added with its secret shown once, and its list entry", async () => {
  await page.goto("/settings/webhooks");
  await expectAccessible(page, "/settings/webhooks (empty, no JavaScript)");
  await page.getByLabel("Address").fill("https://example.com/coffer-hook");
  // An event this account will not cause: nothing is sent to example.com during the run.
  await page.getByRole("checkbox", { name: "webhook.disabled" }).check();
  await page.getByRole("button", { name: "Add webhook" }).click();
  await expect(page.getByRole("heading", { name: "The webhook was added." })).toBeVisible();
  await expect(page.getByLabel("Signing secret")).toHaveValue(/^whsec_/);
  await expectAccessible(page, "/settings/webhooks (added, no JavaScript)");
  await page.getByRole("button", { name: "Turn off for https://example.com/coffer-hook" }).click();
  await expect(page.getByRole("status").filter({ hasText: "The webhook is off." })).toBeVisible();
  await expectAccessible(page, "/settings/webhooks (turned off, no JavaScript)");
});

test("notification settings: the form, a refused save, and an unsubscribe link before and after", async () => {
  await page.goto("/settings/notifications");
  // Run alone (--grep), this test signs in an account of its own.
  if (new URL(page.url()).pathname === "/login") {
    await register(page, newAccount("a11y-notify"));
    await page.goto("/settings/notifications");
  }
  await expectAccessible(page, "/settings/notifications (no JavaScript)");
  await page.getByLabel("Time zone").fill("Mars/Olympus");
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByText("Not a time zone this server knows").first().waitFor();
  await expectAccessible(page, "/settings/notifications (refused, no JavaScript)");
  await page.goto(unsubscribePath(await myUserId(page), "share.dropped"));
  await expectAccessible(page, "/unsubscribe/<token> (no JavaScript)");
  await page.getByRole("button", { name: "Unsubscribe" }).click();
  await page.getByText(/is now off/).waitFor();
  await expectAccessible(page, "/unsubscribe/<token> (done, no JavaScript)");
});
