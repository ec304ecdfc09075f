import { expect, test } from "@playwright/test";
import { BASE_URL } from "../support/env";
import { login, logOut, newAccount, openUserMenu, register } from "../support/helpers";

/** Password change and sessions with plain forms only (JavaScript disabled). */
test("change the password from the Security page, then log in with the new one", async ({ browser }) => {
  const context = await browser.newContext({ baseURL: BASE_URL, javaScriptEnabled: false });
  const page = await context.newPage();
  const account = newAccount("security");
  await register(page, account);

  await (await openUserMenu(page)).getByRole("link", { name: "Security" }).click();
  await expect(page).toHaveURL(/\/settings\/security$/);
  await expect(page.getByRole("heading", { level: 1, name: "Security" })).toBeVisible();
  await expect(page.getByRole("region", { name: "Sessions" }).getByText("This device")).toBeVisible();

  const password = page.getByRole("region", { name: "Password" });
  await password.getByLabel("Current password").fill("certainly not it");
  await password.getByLabel("New password", { exact: true }).fill("granite orchard whistle");
  await password.getByLabel("Confirm new password").fill("granite orchard whistle");
  await password.getByRole("button", { name: "Change password" }).click();
  await expect(page.getByText("That is not your current password.")).toBeVisible();
  await expect(page.getByLabel("Current password")).toHaveAttribute("aria-invalid", "true");

  await password.getByLabel("Current password").fill(account.password);
  await password.getByLabel("New password", { exact: true }).fill("granite orchard whistle");
  await password.getByLabel("Confirm new password").fill("granite orchard whistle");
  await password.getByRole("button", { name: "Change password" }).click();
  await expect(page.getByText("Your password was changed. Every other session was logged out.")).toBeVisible();
  await expect(
    page.getByRole("region", { name: "Recent security events" }).getByRole("cell", { name: "Password changed", exact: true }),
  ).toBeVisible();

  await logOut(page);
  await expect(page).toHaveURL(/\/login$/);
  await login(page, { email: account.email, password: "granite orchard whistle" });
  await context.close();
});

test("forgot password says to ask an administrator when mail is not set up", async ({ browser }) => {
  const context = await browser.newContext({ baseURL: BASE_URL, javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto("/login");
  await page.getByRole("link", { name: "Forgot your password?" }).click();
  await expect(page).toHaveURL(/\/forgot-password$/);
  await expect(page.getByText("Password reset by email isn’t configured on this server. Ask an administrator")).toBeVisible();
  await context.close();
});
