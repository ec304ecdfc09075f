import { expect, test } from "@playwright/test";
import { ADMIN, BASE_URL } from "../support/env";
import { login, newAccount, register, openUploadDialog } from "../support/helpers";

/** An admin deletes someone's account from the users list, with plain forms only (JavaScript disabled). */
test("the admin deletes an account after its confirmation page, giving the files to someone else", async ({ browser }) => {
  const leaver = newAccount("leaver");
  const keeper = newAccount("keeper");
  const leaverContext = await browser.newContext({ baseURL: BASE_URL, javaScriptEnabled: false });
  const keeperContext = await browser.newContext({ baseURL: BASE_URL, javaScriptEnabled: false });
  const adminContext = await browser.newContext({ baseURL: BASE_URL, javaScriptEnabled: false });
  try {
    const leaverPage = await leaverContext.newPage();
    await register(leaverPage, leaver);
    await openUploadDialog(leaverPage);
    await leaverPage
      .locator("#upload-file")
      .setInputFiles({ name: "handover.txt", mimeType: "text/plain", buffer: Buffer.from("everything you need to know") });
    await leaverPage.getByRole("button", { name: "Upload", exact: true }).click();
    await expect(leaverPage.getByRole("status").filter({ hasText: "Uploaded “handover.txt”." })).toBeVisible();
    const keeperPage = await keeperContext.newPage();
    await register(keeperPage, keeper);

    const admin = await adminContext.newPage();
    await login(admin, ADMIN);
    await admin.goto("/admin/users");
    const row = admin.getByTestId("admin-user-row").filter({ hasText: leaver.email });
    // An address stays on one line (the table scrolls sideways when it must), never split mid-address.
    const emailLines = await row.getByRole("cell", { name: leaver.email, exact: true }).evaluate((cell) => {
      const range = document.createRange();
      range.selectNodeContents(cell);
      return new Set(Array.from(range.getClientRects(), (rect) => Math.round(rect.top))).size;
    });
    expect(emailLines).toBe(1);
    await row.getByRole("link", { name: `Delete… ${leaver.name}` }).click();
    await expect(admin).toHaveURL(/\/admin\/users\/[^/]+\/delete$/);
    await expect(admin.getByRole("heading", { level: 1, name: `Delete ${leaver.name}` })).toBeVisible();
    const summary = admin.getByTestId("deletion-summary");
    await expect(summary).toContainText("1 file in 0 folders, 27 B");
    await expect(summary).toContainText("0 share links");

    // A mistyped email is refused with its reason, and nothing is deleted.
    await admin.getByLabel("Their files").selectOption({ label: `Give their files to ${keeper.name} (${keeper.email})` });
    await admin.getByLabel(`Type ${leaver.email} to confirm`).fill("someone-else@e2e.test");
    await admin.getByLabel("Your password").fill(ADMIN.password);
    await admin.getByRole("button", { name: `Delete ${leaver.name}'s account` }).click();
    await expect(
      admin.getByRole("alert").filter({ hasText: `Type ${leaver.email} exactly to confirm. Nothing was deleted.` }),
    ).toBeVisible();
    await expect(admin.getByLabel(`Type ${leaver.email} to confirm`)).toHaveAttribute("aria-invalid", "true");

    await admin.getByLabel("Their files").selectOption({ label: `Give their files to ${keeper.name} (${keeper.email})` });
    await admin.getByLabel(`Type ${leaver.email} to confirm`).fill(leaver.email);
    await admin.getByLabel("Your password").fill(ADMIN.password);
    await admin.getByRole("button", { name: `Delete ${leaver.name}'s account` }).click();
    await expect(admin).toHaveURL(/\/admin\/users\?done=deleted-given$/);
    await expect(
      admin.getByRole("status").filter({ hasText: "The account was deleted; its files were given to the person you chose." }),
    ).toBeVisible();
    await expect(admin.getByTestId("admin-user-row").filter({ hasText: leaver.email })).toHaveCount(0);

    // The leaver is signed out; the keeper finds the file in "From <name>".
    await leaverPage.goto("/files");
    await expect(leaverPage).toHaveURL(/\/login\?redirectTo=%2Ffiles$/);
    await keeperPage.goto("/files");
    await keeperPage
      .locator("main table")
      .getByRole("link", { name: `From ${leaver.name}`, exact: true })
      .click();
    await expect(keeperPage.getByRole("heading", { level: 1, name: `From ${leaver.name}` })).toBeVisible();
    await expect(keeperPage.locator("main").getByRole("link", { name: "handover.txt" }).first()).toBeVisible();
  } finally {
    await leaverContext.close();
    await keeperContext.close();
    await adminContext.close();
  }
});
