import { expect, test, type BrowserContext, type Page } from "@playwright/test";
import { expectAccessible } from "../../support/a11y";
import { BASE_URL } from "../../support/env";
import { createAndOpenFolder, newAccount, openUploadDialog, register } from "../../support/helpers";

/** axe on the details page without JavaScript: tabs, the dialogs as :target, gallery, code and Markdown. */
test.describe.configure({ mode: "serial" });

const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64");

let context: BrowserContext;
let page: Page;
let folder = "";

test.beforeAll(async ({ browser }) => {
  // axe is a script: the page's own scripts are refused instead of switching JavaScript off
  // (as e2e/accessibility/no-js.spec.ts does), so the page is never hydrated.
  context = await browser.newContext({ baseURL: BASE_URL, javaScriptEnabled: true });
  await context.route(/\.m?js(\?|$)/, (route) => route.abort());
  page = await context.newPage();
});

test.afterAll(async () => {
  await context?.close();
});

async function openDetails(name: string) {
  await page.goto(`/files/${folder}`);
  await page.getByRole("link", { name: `Details of ${name}` }).click();
  await expect(page.getByRole("heading", { level: 1, name })).toBeVisible();
}

test("sets up a folder with images, code and Markdown", async () => {
  await register(page, newAccount("a11y-details-nojs"));
  folder = await createAndOpenFolder(page, "Details a11y");
  await openUploadDialog(page);
  await page.locator("#upload-file").setInputFiles([
    { name: "a-sun.png", mimeType: "image/png", buffer: PNG },
    { name: "b-sea.png", mimeType: "image/png", buffer: PNG },
    { name: "app.py", mimeType: "text/x-python", buffer: Buffer.from("def greet(name):\n    return name\n") },
    { name: "README.md", mimeType: "text/markdown", buffer: Buffer.from("# Hello\n\n[a link](https://example.com)\n") },
  ]);
  await page.getByRole("button", { name: "Upload", exact: true }).click();
  await expect(page.getByRole("status").filter({ hasText: "Uploaded 4 files." })).toBeVisible();
});

test("tabs, gallery, dialogs as :target, a conflict, code and Markdown", async () => {
  test.setTimeout(180_000); // eight pages, each at two sizes
  await openDetails("a-sun.png");
  await expectAccessible(page, "/details/file (no JS, gallery)");
  await page.getByRole("navigation", { name: "Details" }).getByRole("link", { name: "Versions" }).click();
  await expectAccessible(page, "/details/file?tab=versions (no JS)");
  await page.getByRole("link", { name: "Rename", exact: true }).click();
  await expect(page.getByRole("dialog")).toBeVisible();
  await expectAccessible(page, "/details/file#rename (no JS)");
  await page.getByLabel("New name", { exact: true }).fill("b-sea.png");
  await page.getByRole("dialog").getByRole("button", { name: "Rename", exact: true }).click();
  await expect(page.getByRole("dialog").getByRole("radio")).toHaveCount(3);
  await expectAccessible(page, "/details/file (no JS, rename conflict)");
  await openDetails("app.py");
  await expectAccessible(page, "/details/file (no JS, code)");
  await openDetails("README.md");
  await expectAccessible(page, "/details/file (no JS, Markdown)");
});
