import { expect, test } from "../support/test";
import sharp from "sharp";
import { createAndOpenFolder, newAccount, register, waitForLiveConnection } from "../support/helpers";

/** A one-page PDF that says "Hello PDF". */
const PDF = `%PDF-1.4
1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj
2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj
3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 300 200]/Contents 4 0 R/Resources<</Font<</F1 5 0 R>>>>>>endobj
4 0 obj<</Length 44>>stream
BT /F1 24 Tf 50 100 Td (Hello PDF) Tj ET
endstream endobj
5 0 obj<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>endobj
trailer<</Root 1 0 R>>
%%EOF
`;

/**
 * Previews with JavaScript: an uploaded image gets its thumbnail in the grid, and the details
 * pages of an image, a text file and a PDF show their viewers.
 */
test("shows the thumbnail in the grid and the image and text viewers on the details pages", async ({ page }) => {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));

  await register(page, newAccount("previews-js"));
  await createAndOpenFolder(page, `Album ${Date.now().toString(36)}`);
  const image = await sharp({ create: { width: 640, height: 360, channels: 3, background: { r: 30, g: 140, b: 90 } } })
    .png()
    .toBuffer();
  const text = 'export const greeting = "<b>hello</b>";\n';
  await page.getByTestId("tus-file-input").setInputFiles([
    { name: "meadow.png", mimeType: "image/png", buffer: image },
    { name: "greeting.ts", mimeType: "", buffer: Buffer.from(text) },
    { name: "hello.pdf", mimeType: "application/pdf", buffer: Buffer.from(PDF) },
  ]);
  await expect(page.locator("main table").getByRole("link", { name: "greeting.ts", exact: true })).toBeVisible();
  await expect(page.locator("main table").getByRole("link", { name: "meadow.png", exact: true })).toBeVisible();
  await page.getByRole("link", { name: "Grid view" }).click();
  const grid = page.getByTestId("folder-grid");
  await expect(grid.getByText("meadow.png", { exact: true })).toBeVisible();
  await expect(grid.getByText("greeting.ts", { exact: true })).toBeVisible();
  const gridUrl = page.url();

  // The thumbnail arrives without a reload once it is made.
  const thumbnail = grid.locator('img[src^="/thumbnail/"]');
  await expect(thumbnail).toHaveCount(1, { timeout: 20_000 });
  await expect.poll(() => thumbnail.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(256);

  await grid.getByRole("link", { name: "Details of meadow.png" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "meadow.png" })).toBeVisible();
  const viewer = page.getByTestId("file-viewer");
  await expect(viewer).toHaveAttribute("data-viewer", "image");
  const picture = viewer.getByRole("img", { name: "meadow.png" });
  await expect(picture).toBeVisible();
  await expect.poll(() => picture.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(640);

  await page.goBack();
  await grid.getByRole("link", { name: "Details of greeting.ts" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "greeting.ts" })).toBeVisible();
  await expect(page.getByTestId("file-viewer")).toHaveAttribute("data-viewer", "text");
  const code = page.getByRole("region", { name: "Preview" }).locator("pre");
  await expect(code).toHaveText(text.trimEnd() + "\n");
  // Shown as text: no element was made from the file's markup.
  await expect(code.locator("b")).toHaveCount(0);
  // Loaded as a document the text is in the HTML only, not in the hydration data: hydrating
  // keeps it (a mismatch would be a page error), and a revalidation after an action too.
  const connected = waitForLiveConnection(page);
  await page.reload();
  await connected; // hydrated: the live-updates effect ran
  await expect(code).toHaveText(text.trimEnd() + "\n");
  const html = await (await page.request.get(page.url())).text();
  expect(html.split("greeting = ").length - 1).toBe(1);
  await page.getByRole("link", { name: "Rename", exact: true }).click();
  await page.getByRole("textbox", { name: "New name" }).fill("welcome.ts");
  const revalidated = page.waitForResponse((response) => response.url().includes(".data") && response.request().method() === "GET");
  await page.getByRole("button", { name: "Rename", exact: true }).click();
  await revalidated;
  await expect(page.getByRole("status").filter({ hasText: "Renamed." })).toBeVisible();
  await expect(page.getByRole("heading", { level: 1, name: "welcome.ts" })).toBeVisible();
  await expect(code).toHaveText(text.trimEnd() + "\n");

  // Chromium's own PDF viewer loads in the frame (a sandbox attribute would get its error page).
  await page.goto(gridUrl);
  await grid.getByRole("link", { name: "Details of hello.pdf" }).click();
  await expect(page.getByTestId("file-viewer")).toHaveAttribute("data-viewer", "pdf");
  const frame = await page
    .getByTitle("PDF: hello.pdf")
    .elementHandle()
    .then((element) => element!.contentFrame());
  await expect.poll(() => frame!.evaluate(() => document.contentType).catch(() => "loading")).toBe("application/pdf");
  expect(errors).toEqual([]);
});
