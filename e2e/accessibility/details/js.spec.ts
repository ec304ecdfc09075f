import type { BrowserContext, Page } from "@playwright/test";
import { expect, test } from "../../support/test";
import { expectAccessible } from "../../support/a11y";
import { BASE_URL } from "../../support/env";
import { createAndOpenFolder, newAccount, register } from "../../support/helpers";

/**
 * axe and the keyboard on the details page with JavaScript (issue 16): tabs, the rename dialog
 * (plain and after a conflict), move and trash dialogs, the gallery, highlighted code and Markdown.
 */
test.describe.configure({ mode: "serial" });

const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64");
const FILES = [
  { name: "a-sun.png", mimeType: "image/png", buffer: PNG },
  { name: "b-sea.png", mimeType: "image/png", buffer: PNG },
  { name: "app.py", mimeType: "text/x-python", buffer: Buffer.from("def greet(name):\n    return f'hi {name}'  # hi\n") },
  { name: "README.md", mimeType: "text/markdown", buffer: Buffer.from("# Hello\n\n- [a link](https://example.com)\n\n> quoted `code`\n") },
];

let context: BrowserContext;
let page: Page;
let folder = "";

test.beforeAll(async ({ browser }) => {
  context = await browser.newContext({ baseURL: BASE_URL });
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
  await register(page, newAccount("a11y-details"));
  folder = await createAndOpenFolder(page, "Details a11y");
  await page.getByTestId("tus-file-input").setInputFiles(FILES);
  for (const file of FILES) await expect(page.getByTestId("listing-file").filter({ hasText: file.name })).toBeVisible({ timeout: 30_000 });
});

test("tabs and the gallery", async () => {
  test.setTimeout(120_000);
  await openDetails("a-sun.png");
  await expect(page.getByTestId("gallery")).toBeVisible();
  await expectAccessible(page, "/details/file (image, gallery)");
  for (const tab of ["Sharing", "Versions", "Activity"]) {
    await page.getByRole("navigation", { name: "Details" }).getByRole("link", { name: tab }).click();
    await expect(page.getByRole("navigation", { name: "Details" }).getByRole("link", { name: tab })).toHaveAttribute(
      "aria-current",
      "page",
    );
    await expectAccessible(page, `/details/file?tab=${tab.toLowerCase()}`);
  }
});

test("dialogs: rename, rename after a conflict, move, trash", async () => {
  test.setTimeout(120_000);
  await openDetails("a-sun.png");
  await page.getByRole("link", { name: "Rename", exact: true }).click();
  await expect(page.getByRole("dialog")).toBeVisible();
  await expectAccessible(page, "/details/file#rename (dialog)");
  await page.getByLabel("New name", { exact: true }).fill("b-sea.png");
  await page.getByRole("dialog").getByRole("button", { name: "Rename", exact: true }).click();
  await expect(page.getByRole("dialog").getByRole("radio")).toHaveCount(3);
  await expectAccessible(page, "/details/file#rename (conflict choice)");
  await page.keyboard.press("Escape");
  for (const [opener, label] of [
    ["Move", "move"],
    ["Move to trash", "trash"],
  ] as const) {
    await page.getByRole("link", { name: opener, exact: true }).click();
    await expect(page.getByRole("dialog")).toBeVisible();
    await expectAccessible(page, `/details/file#${label} (dialog)`);
    await page.keyboard.press("Escape");
  }
});

test("highlighted code and rendered Markdown", async () => {
  await openDetails("app.py");
  await expect(page.locator(".hljs-keyword").first()).toBeVisible();
  await expectAccessible(page, "/details/file (highlighted code)");
  await openDetails("README.md");
  await expect(page.getByTestId("markdown-preview")).toBeVisible();
  await expectAccessible(page, "/details/file (Markdown)");
});

test("keyboard: a dialog opens from its link, keeps the focus inside, Escape gives it back; arrows step the gallery", async () => {
  await openDetails("a-sun.png");
  const opener = page.getByRole("link", { name: "Rename", exact: true });
  await opener.focus();
  await page.keyboard.press("Enter");
  const dialog = page.getByRole("dialog");
  await expect(dialog).toBeVisible();
  for (let i = 0; i < 2; i++) {
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => Boolean(document.activeElement?.closest("dialog")))).toBe(true);
  }
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  await expect(opener).toBeFocused();
  await page.keyboard.press("ArrowRight");
  await expect(page.getByRole("heading", { level: 1, name: "b-sea.png" })).toBeVisible();
  await page.keyboard.press("ArrowLeft");
  await expect(page.getByRole("heading", { level: 1, name: "a-sun.png" })).toBeVisible();
});
