import { expect, test, type BrowserContext, type Page } from "@playwright/test";
import { BASE_URL } from "../support/env";
import { createAndOpenFolder, newAccount, openUploadDialog, register } from "../support/helpers";

/**
 * The details page without JavaScript: tabs are links (`?tab=`), rename, move, copy and trash are
 * dialogs shown as the page's :target, and the name-conflict choice appears only after a conflict.
 * (Steps build on each other.)
 */
test.describe.configure({ mode: "serial" });

const account = newAccount("details-nojs");
const FOLDER = `Details ${Date.now().toString(36)}`;

let context: BrowserContext;
let page: Page;
let folderUrl = "";
let fileId = "";

test.beforeAll(async ({ browser }) => {
  context = await browser.newContext({ baseURL: BASE_URL, javaScriptEnabled: false });
  page = await context.newPage();
});

test.afterAll(async () => {
  await context?.close();
});

async function uploadText(name: string, text = name) {
  await openUploadDialog(page);
  await page.locator("#upload-file").setInputFiles({ name, mimeType: "text/plain", buffer: Buffer.from(text) });
  await page.getByRole("button", { name: "Upload", exact: true }).click();
  await expect(page.getByRole("status").filter({ hasText: `Uploaded “${name}”.` })).toBeVisible();
}

async function idOf(name: string): Promise<string> {
  const href = await page.locator('main a[href^="/download/"]').filter({ hasText: name }).first().getAttribute("href");
  return href!.split("/").pop()!;
}

test("sets up a folder with two files and a subfolder", async () => {
  await register(page, account);
  await createAndOpenFolder(page, FOLDER);
  folderUrl = page.url();
  await uploadText("draft.txt");
  await uploadText("final.txt");
  fileId = await idOf("draft.txt");
});

test("the tabs are links: Info, Sharing, Versions, Activity", async () => {
  await page.goto(`/details/file/${fileId}`);
  const tabs = page.getByRole("navigation", { name: "Details" });
  await expect(tabs.getByRole("link")).toHaveText(["Info", "Sharing", "Versions", "Activity"]);
  await expect(tabs.getByRole("link", { name: "Info" })).toHaveAttribute("aria-current", "page");
  await expect(page.getByRole("region", { name: "Properties" })).toBeVisible();
  await expect(page.getByTestId("file-viewer")).toBeVisible();
  // The dialogs are in the page but hidden until they are the :target.
  await expect(page.getByLabel("New name", { exact: true })).toBeHidden();

  await tabs.getByRole("link", { name: "Versions" }).click();
  await expect(page).toHaveURL(new RegExp(`/details/file/${fileId}\\?tab=versions$`));
  await expect(tabs.getByRole("link", { name: "Versions" })).toHaveAttribute("aria-current", "page");
  await expect(page.getByRole("heading", { name: "Versions" })).toBeVisible();
  await expect(page.getByRole("region", { name: "Properties" })).toHaveCount(0);

  await tabs.getByRole("link", { name: "Sharing" }).click();
  await expect(page.getByText("This file is not shared.")).toBeVisible();
  await tabs.getByRole("link", { name: "Activity" }).click();
  await expect(page.getByRole("heading", { name: "Activity" })).toBeVisible();
  await expect(page.getByTestId("item-activity")).toContainText("draft.txt");

  // An unknown tab is Info.
  await page.goto(`/details/file/${fileId}?tab=nonsense`);
  await expect(tabs.getByRole("link", { name: "Info" })).toHaveAttribute("aria-current", "page");
});

test("a folder's tabs have no Versions", async () => {
  await page.goto(folderUrl);
  const folderId = folderUrl.split("/").pop();
  await page.goto(`/details/folder/${folderId}`);
  await expect(page.getByRole("navigation", { name: "Details" }).getByRole("link")).toHaveText(["Info", "Sharing", "Activity"]);
  await expect(page.getByRole("link", { name: "Open folder" })).toHaveAttribute("href", `/files/${folderId}`);
});

test("rename: no conflict choice at first; after a conflict the choice, then keep both", async () => {
  await page.goto(`/details/file/${fileId}`);
  await page.getByRole("link", { name: "Rename", exact: true }).click();
  await expect(page).toHaveURL(/#rename$/);
  const dialog = page.getByRole("dialog", { name: "Rename “draft.txt”" });
  await expect(dialog).toBeVisible();
  await expect(dialog.getByRole("radio")).toHaveCount(0);
  await dialog.getByLabel("New name", { exact: true }).fill("final.txt");
  const refused = page.waitForResponse((r) => r.request().method() === "POST");
  await dialog.getByRole("button", { name: "Rename", exact: true }).click();
  expect((await refused).status()).toBe(409);
  // The page comes back with the dialog open, the message in it, and now the choice.
  await expect(dialog).toBeVisible();
  await expect(dialog.getByRole("alert")).toContainText("already exists");
  await expect(dialog.getByLabel("New name", { exact: true })).toHaveValue("final.txt");
  const choice = dialog.getByRole("group", { name: /already taken/ });
  await expect(choice.getByRole("radio")).toHaveCount(3);
  await expect(choice.getByRole("radio", { name: /Keep both/ })).toBeChecked();
  await dialog.getByRole("button", { name: "Rename", exact: true }).click();
  await expect(page.getByRole("status").filter({ hasText: "Renamed." })).toBeVisible();
  await expect(page.getByRole("heading", { level: 1, name: "final (1).txt" })).toBeVisible();
  await expect(page.getByRole("dialog")).toHaveCount(0);
});

test("rename: skip after a conflict changes nothing", async () => {
  await page.goto(`/details/file/${fileId}#rename`);
  const dialog = page.getByRole("dialog", { name: /^Rename/ });
  await dialog.getByLabel("New name", { exact: true }).fill("final.txt");
  await dialog.getByRole("button", { name: "Rename", exact: true }).click();
  await dialog.getByRole("radio", { name: /Skip/ }).check();
  await dialog.getByRole("button", { name: "Rename", exact: true }).click();
  await expect(page).toHaveURL(/\?done=skipped$/);
  await expect(page.getByRole("status").filter({ hasText: "Nothing changed" })).toBeVisible();
  await expect(page.getByRole("heading", { level: 1, name: "final (1).txt" })).toBeVisible();
});

test("copy and move dialogs; a copy into the same folder asks, then keeps both", async () => {
  await page.goto(`/details/file/${fileId}`);
  await page.getByRole("link", { name: "Copy", exact: true }).click();
  const copy = page.getByRole("dialog", { name: /^Copy/ });
  await expect(copy).toBeVisible();
  const here = await copy.locator("#copy-destination option").filter({ hasText: "(current folder)" }).getAttribute("value");
  await copy.getByLabel("Copy into folder").selectOption(here!);
  await copy.getByRole("button", { name: "Copy", exact: true }).click();
  await expect(copy.getByRole("alert")).toContainText("already exists");
  await copy.getByRole("radio", { name: /Keep both/ }).check();
  await copy.getByRole("button", { name: "Copy", exact: true }).click();
  await expect(page.getByRole("status").filter({ hasText: "Copied." })).toBeVisible();
  await expect(page).not.toHaveURL(new RegExp(fileId));
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(/^final .*\.txt$/);
  await expect(page.getByRole("heading", { level: 1 })).not.toHaveText("final (1).txt");

  await page.getByRole("link", { name: "Move", exact: true }).click();
  const move = page.getByRole("dialog", { name: /^Move/ });
  const root = await move
    .locator("#move-destination option")
    .filter({ hasText: /^My files$/ })
    .getAttribute("value");
  await move.getByLabel("Move to folder").selectOption(root!);
  await move.getByRole("button", { name: "Move", exact: true }).click();
  await expect(page.getByRole("status").filter({ hasText: "Moved." })).toBeVisible();
  await expect(page.getByRole("navigation", { name: "Location" })).not.toContainText(FOLDER);
});

test("trash is a confirmation dialog", async () => {
  await page.goto(`/details/file/${fileId}`);
  await page.getByRole("link", { name: "Move to trash", exact: true }).click();
  const confirm = page.getByRole("dialog", { name: "Move to trash?" });
  await expect(confirm).toBeVisible();
  await confirm.getByRole("link", { name: "Close" }).click();
  await expect(confirm).toBeHidden();
  await page.getByRole("link", { name: "Move to trash", exact: true }).click();
  await confirm.getByRole("button", { name: /^Move “.*” to trash$/ }).click();
  await expect(page).toHaveURL(/\/trash\?done=trashed/);
});

test.describe("viewers without JavaScript", () => {
  let album = "";

  test("uploads images, code, Markdown, and a video with its subtitles", async () => {
    await page.goto(folderUrl);
    album = await createAndOpenFolder(page, "Viewers");
    const png = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64");
    await openUploadDialog(page);
    await page.locator("#upload-file").setInputFiles([
      { name: "a-sun.png", mimeType: "image/png", buffer: png },
      { name: "b-sea.png", mimeType: "image/png", buffer: png },
      { name: "c-sky.png", mimeType: "image/png", buffer: png },
      { name: "app.py", mimeType: "text/x-python", buffer: Buffer.from("def greet(name):\n    return f'<b>{name}</b>'  # hi\n") },
      {
        name: "README.md",
        mimeType: "text/markdown",
        buffer: Buffer.from(
          "# Hello\n\n<script>document.title='pwned'</script>\n\n[click](javascript:document.title='pwned')\n\n<b>raw</b>\n",
        ),
      },
      { name: "clip.webm", mimeType: "video/webm", buffer: Buffer.from("not a real video") },
      { name: "clip.vtt", mimeType: "text/vtt", buffer: Buffer.from("WEBVTT\n\n00:00.000 --> 00:02.000\nHello\n") },
    ]);
    await page.getByRole("button", { name: "Upload", exact: true }).click();
    await expect(page.getByRole("status").filter({ hasText: "Uploaded 7 files." })).toBeVisible();
  });

  test("the gallery steps through the folder's images with links: “2 of 3”", async () => {
    await page.goto(`/files/${album}`);
    await page.getByRole("link", { name: "Details of c-sky.png" }).click();
    const gallery = page.getByRole("navigation", { name: "Images in this folder" });
    await expect(gallery.getByTestId("gallery-position")).toHaveText("3 of 3");
    await expect(gallery.getByRole("link", { name: /Next/ })).toHaveCount(0);
    await gallery.getByRole("link", { name: /^Previous image, b-sea\.png$/ }).click();
    await expect(page.getByRole("heading", { level: 1, name: "b-sea.png" })).toBeVisible();
    await expect(gallery.getByTestId("gallery-position")).toHaveText("2 of 3");
    await gallery.getByRole("link", { name: /Previous/ }).click();
    await expect(page.getByRole("heading", { level: 1, name: "a-sun.png" })).toBeVisible();
    await expect(gallery.getByTestId("gallery-position")).toHaveText("1 of 3");
    await expect(gallery.getByRole("link", { name: /Previous/ })).toHaveCount(0);
    await gallery.getByRole("link", { name: /^Next image, b-sea\.png$/ }).click();
    await expect(page.getByRole("heading", { level: 1, name: "b-sea.png" })).toBeVisible();
  });

  test("code is highlighted, Markdown rendered inert, the video has its subtitles track", async () => {
    await page.goto(`/files/${album}`);
    await page.getByRole("link", { name: "Details of app.py" }).click();
    const code = page.getByRole("region", { name: "Preview" }).locator("pre");
    await expect(code.locator(".hljs-keyword").first()).toHaveText("def");
    await expect(code).toContainText("return f'<b>{name}</b>'");
    await expect(code.locator("b")).toHaveCount(0);

    await page.goto(`/files/${album}`);
    await page.getByRole("link", { name: "Details of README.md" }).click();
    const markdown = page.getByTestId("markdown-preview");
    await expect(markdown.getByRole("heading", { name: "Hello" })).toBeVisible();
    await expect(markdown).toContainText("<script>document.title='pwned'</script>");
    await expect(markdown).toContainText("<b>raw</b>");
    await expect(markdown.locator("script, b")).toHaveCount(0);
    await expect(markdown.locator("a")).toHaveCount(0);
    await expect(page).not.toHaveTitle("pwned");

    await page.goto(`/files/${album}`);
    await page.getByRole("link", { name: "Details of clip.webm" }).click();
    const track = page.getByTestId("file-viewer").locator("video track");
    await expect(track).toHaveAttribute("kind", "subtitles");
    await expect(track).toHaveAttribute("label", "clip.vtt");
  });
});
