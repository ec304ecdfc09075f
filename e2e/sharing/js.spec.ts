import { expect, test } from "../support/test";
import { BASE_URL } from "../support/env";
import { createAndOpenFolder, newAccount, register } from "../support/helpers";

/**
 * A password-protected share link with JavaScript on: after the password, moving between the
 * shared folder and its subfolders keeps access (the grant cookie is scoped to /s/<token>).
 * (In e2e/sharing/ so the js project's file pattern picks it up.)
 */
test("a visitor unlocks a link and browses in and out of a subfolder", async ({ browser }) => {
  const account = newAccount("sharejs");
  const folder = `Trip ${Date.now().toString(36)}`;
  const owner = await browser.newContext({ baseURL: BASE_URL });
  const visitor = await browser.newContext({ baseURL: BASE_URL });
  try {
    const page = await owner.newPage();
    await register(page, account);
    const folderId = await createAndOpenFolder(page, folder);
    await page.getByLabel("New folder").fill("Day 2");
    await page.getByRole("button", { name: "Create folder" }).click();
    await expect(page.getByText("Created folder “Day 2”.")).toBeVisible();
    await page.goto(`/shares?item=folder:${folderId}`);
    await page.getByLabel("Password (optional)").fill("correct horse");
    await page.getByRole("button", { name: "Create link" }).click();
    const created = page.getByRole("status").filter({ hasText: "Link created:" });
    await expect(created).toBeVisible();
    const url = /https?:\/\/\S+\/s\/[A-Za-z0-9_-]+/.exec((await created.textContent()) ?? "")![0];

    const guest = await visitor.newPage();
    const errors: string[] = [];
    guest.on("pageerror", (error) => errors.push(error.message));
    await guest.goto(url);
    await guest.getByLabel("Password").fill("correct horse");
    await guest.getByRole("button", { name: "Open" }).click();
    await expect(guest.getByRole("heading", { level: 1, name: folder })).toBeVisible();
    await guest.getByRole("link", { name: "Day 2" }).click();
    await expect(guest.getByRole("heading", { level: 1, name: "Day 2" })).toBeVisible();
    await guest.getByRole("navigation", { name: "Breadcrumb" }).getByRole("link", { name: folder }).click();
    await expect(guest.getByRole("heading", { level: 1, name: folder })).toBeVisible();
    await expect(guest.getByRole("link", { name: "Day 2" })).toBeVisible();
    expect(errors).toEqual([]);
  } finally {
    await owner.close();
    await visitor.close();
  }
});
