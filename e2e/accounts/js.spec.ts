import { expect, test } from "../support/test";
import { BASE_URL } from "../support/env";
import { login, newAccount, register } from "../support/helpers";

test("log out another session from the Security page", async ({ browser }) => {
  const account = newAccount("sessions");
  const mine = await browser.newContext({ baseURL: BASE_URL });
  const page = await mine.newPage();
  await register(page, account);
  const other = await browser.newContext({ baseURL: BASE_URL });
  const otherPage = await other.newPage();
  await login(otherPage, account);

  await page.goto("/settings/security");
  const sessions = page.getByRole("region", { name: "Sessions" });
  await expect(sessions.getByRole("row")).toHaveCount(3); // header + two sessions
  await sessions.getByRole("button", { name: /^Log out Chrome on Linux last active/ }).click();
  await expect(page.getByText("That session was logged out.")).toBeVisible();
  await expect(sessions.getByRole("row")).toHaveCount(2);

  await otherPage.goto("/files");
  await expect(otherPage).toHaveURL(/\/login\?redirectTo=%2Ffiles$/);
  await mine.close();
  await other.close();
});

test("a refused password change shows its message and appears among the security events", async ({ page }) => {
  await register(page, newAccount("refused"));
  await page.goto("/settings/security");
  const password = page.getByRole("region", { name: "Password" });
  await password.getByLabel("Current password").fill("certainly not it");
  await password.getByLabel("New password", { exact: true }).fill("granite orchard whistle");
  await password.getByLabel("Confirm new password").fill("granite orchard whistle");
  await password.getByRole("button", { name: "Change password" }).click();
  await expect(page.getByText("That is not your current password.")).toBeVisible();
  await expect(
    page.getByRole("region", { name: "Recent security events" }).getByRole("cell", { name: /Password changed\s*Failed/ }),
  ).toBeVisible();
});
