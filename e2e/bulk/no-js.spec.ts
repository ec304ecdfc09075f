import { readFile } from "node:fs/promises";
import { expect, test, type Page } from "@playwright/test";
import yauzl from "yauzl";
import { createAndOpenFolder, newAccount, register, openUploadDialog } from "../support/helpers";

/**
 * Bulk actions without JavaScript: checkboxes in the listing, a streamed ZIP of the selection,
 * and Move… through the destination page. (In e2e/bulk/ so the no-js project runs it.)
 */
function unzip(buffer: Buffer): Promise<Map<string, string>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buffer, { lazyEntries: true }, (error, zip) => {
      if (error || !zip) return reject(error);
      const out = new Map<string, string>();
      zip.on("end", () => resolve(out));
      zip.on("error", reject);
      zip.on("entry", (entry: yauzl.Entry) => {
        if (entry.fileName.endsWith("/")) {
          out.set(entry.fileName, "");
          return zip.readEntry();
        }
        zip.openReadStream(entry, (err, stream) => {
          if (err || !stream) return reject(err);
          const chunks: Buffer[] = [];
          stream.on("data", (c: Buffer) => chunks.push(c));
          stream.on("end", () => {
            out.set(entry.fileName, Buffer.concat(chunks).toString());
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  });
}

async function upload(page: Page, name: string, text: string) {
  await openUploadDialog(page);
  await page.locator("#upload-file").setInputFiles({ name, mimeType: "text/plain", buffer: Buffer.from(text) });
  await page.getByRole("button", { name: "Upload", exact: true }).click();
  await expect(page.getByRole("status").filter({ hasText: `Uploaded “${name}”.` })).toBeVisible();
}

test("downloads a selection as one ZIP and moves a selection, without JavaScript", async ({ page }) => {
  await register(page, newAccount("bulk-nojs"));
  const suffix = Date.now().toString(36);
  const bundle = `Bundle ${suffix}`;
  const target = `Bulk target ${suffix}`;
  await createAndOpenFolder(page, target);
  await page.goto("/files");
  const bundleId = await createAndOpenFolder(page, bundle);
  await upload(page, "a.txt", "alpha");
  await upload(page, "b.txt", "bravo");
  await createAndOpenFolder(page, "Inner");
  await upload(page, "c.txt", "charlie");
  await page.goto(`/files/${bundleId}`);

  await page.getByRole("checkbox", { name: "Select a.txt" }).check();
  await page.getByRole("checkbox", { name: "Select Inner" }).check();
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download as ZIP" }).click()]);
  expect(download.suggestedFilename()).toBe(`${bundle}.zip`);
  const entries = await unzip(await readFile(await download.path()));
  expect(Object.fromEntries(entries)).toEqual({ "Inner/": "", "Inner/c.txt": "charlie", "a.txt": "alpha" });
  await download.delete();

  await page.goto(`/files/${bundleId}`);
  await page.getByRole("checkbox", { name: "Select b.txt" }).check();
  await page.getByRole("checkbox", { name: "Select Inner" }).check();
  await page.getByRole("button", { name: "Move…" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Move 2 items" })).toBeVisible();
  const value = await page.locator("#bulk-destination option").filter({ hasText: target }).getAttribute("value");
  await page.getByLabel("Destination folder").selectOption(value!);
  await page.getByRole("button", { name: "Move here" }).click();
  await expect(page.getByText("Moved 2 items.")).toBeVisible();
  // Post/redirect/get: the summary has its own address, and reloading it repeats nothing.
  await expect(page).toHaveURL(/\/bulk\?result=[A-Za-z0-9_-]+$/);
  await page.reload();
  await expect(page.getByText("Moved 2 items.")).toBeVisible();
  await page.getByRole("link", { name: "Back to the folder" }).click();
  await expect(page.getByRole("heading", { level: 1, name: bundle })).toBeVisible();
  await expect(page.getByRole("checkbox", { name: "Select a.txt" })).toBeVisible();
  await expect(page.getByRole("checkbox", { name: "Select b.txt" })).toHaveCount(0);
  await expect(page.getByRole("checkbox", { name: "Select Inner" })).toHaveCount(0);

  // Trash a selection, then restore it from the trash with "Restore selected".
  await page.getByRole("checkbox", { name: "Select a.txt" }).check();
  await page.getByRole("button", { name: "Move to trash…" }).click();
  await expect(page.getByRole("heading", { name: "Move 1 item to the trash?" })).toBeVisible();
  await page.getByRole("button", { name: "Move to the trash" }).click();
  await expect(page.getByText("Moved 1 item to the trash.")).toBeVisible();
  await page.goto("/trash");
  await page.getByRole("checkbox", { name: "Select a.txt" }).check();
  await page.getByRole("button", { name: "Restore selected" }).click();
  await expect(page.getByText("Restored 1 item.")).toBeVisible();
  await page.getByRole("link", { name: "Back to the trash" }).click();
  await expect(page.getByRole("checkbox", { name: "Select a.txt" })).toHaveCount(0);
  await page.goto(`/files/${bundleId}`);
  await expect(page.getByRole("checkbox", { name: "Select a.txt" })).toBeVisible();
});
