import { expect, test } from "@playwright/test";
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
