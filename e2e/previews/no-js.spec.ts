import { expect, test } from "@playwright/test";
import sharp from "sharp";
import { newAccount, register, openUploadDialog } from "../support/helpers";

/** Without JavaScript the viewers are in the server's HTML: plain upload form, then details. */
test("renders the image and text viewers on the server", async ({ page }) => {
  await register(page, newAccount("previews-nojs"));
  const image = await sharp({ create: { width: 120, height: 80, channels: 3, background: { r: 200, g: 100, b: 0 } } })
    .jpeg()
    .toBuffer();
  await openUploadDialog(page);
  await page.locator("#upload-file").setInputFiles([
    { name: "sunset.jpg", mimeType: "image/jpeg", buffer: image },
    { name: "readme.txt", mimeType: "text/plain", buffer: Buffer.from("Plain <script>alert(1)</script> text\n") },
  ]);
  await page.getByRole("button", { name: "Upload", exact: true }).click();
  await expect(page.getByRole("status").filter({ hasText: "Uploaded 2 files." })).toBeVisible();

  await page.getByRole("link", { name: "Details of sunset.jpg" }).click();
  const picture = page.getByTestId("file-viewer").getByRole("img", { name: "sunset.jpg" });
  await expect(picture).toBeVisible();
  await expect.poll(() => picture.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(120);

  await page.goBack();
  await page.getByRole("link", { name: "Details of readme.txt" }).click();
  await expect(page.getByRole("region", { name: "Preview" }).locator("pre")).toHaveText("Plain <script>alert(1)</script> text\n");
  // Once in the HTML, and not again as data for scripts that do not run here.
  const html = await (await page.request.get(page.url())).text();
  expect(html.split("Plain &lt;script&gt;").length - 1).toBe(1);
  expect(html).not.toContain("<script>alert(1)");
});
