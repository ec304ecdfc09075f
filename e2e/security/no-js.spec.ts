import { expect, test } from "@playwright/test";
import { ADMIN } from "../support/env";
import { login, logOut, newAccount, register } from "../support/helpers";

test("locks an account after repeated failed logins, says how long to wait, and an admin unlocks it", async ({ page, browser }) => {
  const account = newAccount("lockout");
  await register(page, account);
  await logOut(page);

  for (let attempt = 1; attempt <= 5; attempt++) {
    await page.goto("/login");
    await page.getByLabel("Email", { exact: true }).fill(account.email);
    await page.getByLabel("Password", { exact: true }).fill(`wrong-password-${attempt}`);
    await page.getByRole("button", { name: "Log in" }).click();
    await expect(page.getByRole("alert")).toHaveText("That email and password do not match an account.");
  }
  // Even the right password is refused now, with the wait in words.
  await page.getByLabel("Email", { exact: true }).fill(account.email);
  await page.getByLabel("Password", { exact: true }).fill(account.password);
  const response = page.waitForResponse((r) => r.url().endsWith("/login") && r.request().method() === "POST");
  await page.getByRole("button", { name: "Log in" }).click();
  expect((await response).status()).toBe(429);
  expect((await response).headers()["retry-after"]).toMatch(/^\d+$/);
  // "1 minute", or "59 seconds" when a second has passed since the lock on a busy machine.
  await expect(page.getByRole("alert")).toHaveText(
    /^Too many failed attempts for this account\. Please try again in (1 minute|[1-5]?\d seconds), or ask an administrator to unlock it\.$/,
  );
  await expect(page).toHaveURL(/\/login$/);

  const adminContext = await browser.newContext({ javaScriptEnabled: false });
  const adminPage = await adminContext.newPage();
  await login(adminPage, ADMIN);
  await adminPage.goto("/admin/users");
  const row = adminPage.getByTestId("admin-user-row").filter({ hasText: account.email });
  await expect(row.getByTestId("sign-in")).toContainText("Locked until");
  await row.getByRole("button", { name: `Unlock ${account.name}` }).click();
  await expect(adminPage.getByText(`${account.name} can log in again.`)).toBeVisible();
  await adminContext.close();

  await login(page, account);
});
