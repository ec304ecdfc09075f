import type { BrowserContext, Page } from "@playwright/test";
import { expect, test } from "../support/test";
import { BASE_URL } from "../support/env";
import { createAndOpenFolder, newAccount, register } from "../support/helpers";

/**
 * The details page with JavaScript: tabs, and rename, move, copy and trash as modal dialogs
 * (showModal: Escape closes and gives the focus back); the name-conflict choice appears only
 * after a conflict. (Steps build on each other.)
 */
test.describe.configure({ mode: "serial" });

const account = newAccount("details-js");
const FOLDER = `Details ${Date.now().toString(36)}`;

let context: BrowserContext;
let page: Page;
let fileId = "";

test.beforeAll(async ({ browser }) => {
  context = await browser.newContext({ baseURL: BASE_URL, viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
});

test.afterAll(async () => {
  await context?.close();
});

async function uploadText(name: string, text = name) {
  await page.getByTestId("tus-file-input").setInputFiles({ name, mimeType: "text/plain", buffer: Buffer.from(text) });
  await expect(page.getByTestId("upload-item").filter({ hasText: name })).toHaveAttribute("data-status", "done", { timeout: 30_000 });
  await expect(page.getByTestId("listing-file").filter({ hasText: name })).toBeVisible();
}

test("sets up a folder with two files", async () => {
  await register(page, account);
  await createAndOpenFolder(page, FOLDER);
  await uploadText("draft.txt");
  await uploadText("final.txt");
  const href = await page.locator('main a[href^="/download/"]').filter({ hasText: "draft.txt" }).first().getAttribute("href");
  fileId = href!.split("/").pop()!;
});

test("tabs switch with client navigation and keep their URL", async () => {
  await page.goto(`/details/file/${fileId}`);
  const tabs = page.getByRole("navigation", { name: "Details" });
  await expect(tabs.getByRole("link", { name: "Info" })).toHaveAttribute("aria-current", "page");
  await tabs.getByRole("link", { name: "Versions" }).click();
  await expect(page).toHaveURL(/\?tab=versions$/);
  await expect(page.getByText("No earlier versions.")).toBeVisible();
  await tabs.getByRole("link", { name: "Activity" }).click();
  await expect(page.getByTestId("item-activity")).toBeVisible();
  await page.goBack();
  await expect(tabs.getByRole("link", { name: "Versions" })).toHaveAttribute("aria-current", "page");
});

test("the rename dialog is modal: Escape closes it and the focus returns to its opener", async () => {
  await page.goto(`/details/file/${fileId}`);
  const opener = page.getByRole("link", { name: "Rename", exact: true });
  await opener.click();
  const dialog = page.getByRole("dialog", { name: "Rename “draft.txt”" });
  await expect(dialog).toBeVisible();
  expect(await dialog.evaluate((d) => d.matches(":modal"))).toBe(true);
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  await expect(opener).toBeFocused();
});

test("rename with a conflict: the choice only then, keep both, and the dialog closes", async () => {
  await page.getByRole("link", { name: "Rename", exact: true }).click();
  const dialog = page.getByRole("dialog", { name: /^Rename/ });
  await expect(dialog.getByRole("radio")).toHaveCount(0);
  await dialog.getByLabel("New name", { exact: true }).fill("final.txt");
  const refused = page.waitForResponse((r) => r.request().method() === "POST");
  await dialog.getByRole("button", { name: "Rename", exact: true }).click();
  expect((await refused).status()).toBe(409);
  await expect(dialog.getByRole("alert")).toContainText("already exists");
  await expect(dialog.getByRole("radio")).toHaveCount(3);
  await expect(dialog.getByRole("radio", { name: /Keep both/ })).toBeChecked();
  await dialog.getByRole("radio", { name: /Replace/ }).check();
  await dialog.getByRole("radio", { name: /Keep both/ }).check();
  await dialog.getByRole("button", { name: "Rename", exact: true }).click();
  await expect(page.getByRole("status").filter({ hasText: "Renamed." })).toBeVisible();
  await expect(page.getByRole("heading", { level: 1, name: "final (1).txt" })).toBeVisible();
  await expect(page.getByRole("dialog")).toHaveCount(0);
});

test("a link to #move opens the move dialog as a modal; moving closes it", async () => {
  await page.goto(`/details/file/${fileId}#move`);
  const move = page.getByRole("dialog", { name: /^Move/ });
  await expect(move).toBeVisible();
  await expect.poll(() => move.evaluate((d) => d.matches(":modal"))).toBe(true);
  const root = await move
    .locator("#move-destination option")
    .filter({ hasText: /^My files$/ })
    .getAttribute("value");
  await move.getByLabel("Move to folder").selectOption(root!);
  await move.getByRole("button", { name: "Move", exact: true }).click();
  await expect(page.getByRole("status").filter({ hasText: "Moved." })).toBeVisible();
  await expect(page.getByRole("dialog")).toHaveCount(0);
});

test("copy dialog, then trash confirmed in its dialog", async () => {
  await page.getByRole("link", { name: "Copy", exact: true }).click();
  const copy = page.getByRole("dialog", { name: /^Copy/ });
  const target = await copy.locator("#copy-destination option").filter({ hasText: FOLDER }).getAttribute("value");
  await copy.getByLabel("Copy into folder").selectOption(target!);
  await copy.getByRole("button", { name: "Copy", exact: true }).click();
  await expect(page.getByRole("status").filter({ hasText: "Copied." })).toBeVisible();
  await expect(page.getByRole("navigation", { name: "Location" })).toContainText(FOLDER);

  await page.getByRole("link", { name: "Move to trash", exact: true }).click();
  const confirm = page.getByRole("dialog", { name: "Move to trash?" });
  await expect(confirm).toBeVisible();
  await confirm.getByRole("button", { name: /^Move “.*” to trash$/ }).click();
  await expect(page).toHaveURL(/\/trash\?done=trashed/);
});

test.describe("viewers with JavaScript", () => {
  let album = "";
  const errors: string[] = [];

  test("uploads images, code, Markdown, and a video with its subtitles", async () => {
    page.on("pageerror", (error) => errors.push(error.message));
    page.on("dialog", (dialog) => {
      errors.push(`dialog: ${dialog.message()}`);
      void dialog.dismiss();
    });
    await page.goto("/files");
    album = await createAndOpenFolder(page, `Viewers ${Date.now().toString(36)}`);
    const png = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64");
    const files = [
      { name: "a-sun.png", mimeType: "image/png", buffer: png },
      { name: "b-sea.png", mimeType: "image/png", buffer: png },
      { name: "c-sky.png", mimeType: "image/png", buffer: png },
      { name: "app.py", mimeType: "text/x-python", buffer: Buffer.from("def greet(name):\n    return f'<b>{name}</b>'  # hi\n") },
      {
        name: "README.md",
        mimeType: "text/markdown",
        buffer: Buffer.from(
          "# Hello\n\n<script>alert('md')</script>\n\n[click](javascript:alert('md'))\n\n<img src=x onerror=alert('md')>\n",
        ),
      },
      { name: "clip.webm", mimeType: "video/webm", buffer: Buffer.from("not a real video") },
      { name: "clip.vtt", mimeType: "text/vtt", buffer: Buffer.from("WEBVTT\n\n00:00.000 --> 00:02.000\nHello\n") },
    ];
    await page.getByTestId("tus-file-input").setInputFiles(files);
    for (const file of files) {
      await expect(page.getByTestId("listing-file").filter({ hasText: file.name })).toBeVisible({ timeout: 30_000 });
    }
  });

  test("the gallery steps with ← and →, and with a swipe", async () => {
    await page.goto(`/files/${album}`);
    await page.getByRole("link", { name: "Details of a-sun.png" }).click();
    const position = page.getByTestId("gallery-position");
    await expect(position).toHaveText("1 of 3");
    await page.keyboard.press("ArrowRight");
    await expect(page.getByRole("heading", { level: 1, name: "b-sea.png" })).toBeVisible();
    await expect(position).toHaveText("2 of 3");
    await page.keyboard.press("ArrowRight");
    await expect(position).toHaveText("3 of 3");
    await page.keyboard.press("ArrowRight"); // the last: nothing further
    await expect(position).toHaveText("3 of 3");
    await page.keyboard.press("ArrowLeft");
    await expect(page.getByRole("heading", { level: 1, name: "b-sea.png" })).toBeVisible();
    // Not while a dialog is open.
    await page.getByRole("link", { name: "Rename", exact: true }).click();
    await page.keyboard.press("ArrowLeft");
    await page.keyboard.press("Escape");
    await expect(position).toHaveText("2 of 3");
    // A swipe to the left is "next".
    const box = (await page.getByTestId("gallery-swipe").boundingBox())!;
    const y = box.y + box.height / 2;
    await page.mouse.move(box.x + box.width * 0.8, y);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.2, y, { steps: 5 });
    await page.mouse.up();
    await expect(page.getByRole("heading", { level: 1, name: "c-sky.png" })).toBeVisible();
  });

  test("highlighted code and inert Markdown survive hydration; the video's track loads", async () => {
    await page.goto(`/files/${album}`);
    await page.getByRole("link", { name: "Details of app.py" }).click();
    const code = page.getByRole("region", { name: "Preview" }).locator("pre");
    await expect(code.locator(".hljs-keyword").first()).toHaveText("def");
    await page.reload(); // a document load: the HTML is in the page once, read back on hydration
    await expect(code.locator(".hljs-keyword").first()).toHaveText("def");
    await expect(code.locator("b")).toHaveCount(0);

    await page.goto(`/files/${album}`);
    await page.getByRole("link", { name: "Details of README.md" }).click();
    const markdown = page.getByTestId("markdown-preview");
    await expect(markdown.getByRole("heading", { name: "Hello" })).toBeVisible();
    await expect(markdown).toContainText("<script>alert('md')</script>");
    await expect(markdown.locator("script, img, a")).toHaveCount(0);
    await page.reload();
    await expect(markdown.getByRole("heading", { name: "Hello" })).toBeVisible();

    await page.goto(`/files/${album}`);
    await page.getByRole("link", { name: "Details of clip.webm" }).click();
    const track = page.getByTestId("file-viewer").locator("video track");
    await expect(track).toHaveAttribute("label", "clip.vtt");
    await expect
      .poll(() => track.evaluate((t: HTMLTrackElement) => ({ state: t.readyState, cues: t.track.cues?.length ?? 0 })), { timeout: 10_000 })
      .toEqual({ state: 2, cues: 1 });
    expect(errors).toEqual([]);
  });
});
