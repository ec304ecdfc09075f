import { expect, test } from "../support/test";
import * as OTPAuth from "otpauth";
import { login, logOut, newAccount, register } from "../support/helpers";

function codeFor(secret: string, offsetSteps = 0): string {
  const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), digits: 6, period: 30, algorithm: "SHA1" });
  return totp.generate({ timestamp: Date.now() + offsetSteps * 30_000 });
}

test("sets up an authenticator app and logs in with a code as the second step", async ({ page }) => {
  const account = newAccount("totp");
  await register(page, account);

  await page.goto("/settings/security");
  await expect(page.getByRole("heading", { name: "Two-step verification" })).toBeVisible();
  await page.getByRole("button", { name: "Set up an authenticator app" }).click();
  await expect(page).toHaveURL(/\/settings\/security\/mfa$/);
  await expect(page.getByRole("img", { name: "QR code to scan with your authenticator app" })).toBeVisible();
  const secret = (await page.getByTestId("mfa-secret").innerText()).replace(/\s/g, "");
  expect(secret).toMatch(/^[A-Z2-7]{32}$/);

  await page.getByLabel("Code from your app").fill(codeFor(secret));
  await page.getByRole("button", { name: "Turn on" }).click();
  await expect(page.getByText("Two-step verification is on.")).toBeVisible();
  await expect(page.getByTestId("recovery-codes").getByRole("listitem")).toHaveCount(10);
  await expect(page.getByTestId("mfa-secret")).toHaveCount(0);

  await logOut(page);
  await expect(page).toHaveURL(/\/login$/);
  await page.getByLabel("Email", { exact: true }).fill(account.email);
  await page.getByLabel("Password", { exact: true }).fill(account.password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/login\/mfa$/);
  await expect(page.getByRole("heading", { name: "Two-step verification" })).toBeVisible();

  // A wrong code is refused with a message; the code of the next step (not used yet) works.
  await page.getByLabel("Code").fill("000000");
  await page.getByRole("button", { name: "Verify and log in" }).click();
  await expect(page.getByRole("alert")).toContainText("That code is not right");
  await page.getByLabel("Code").fill(codeFor(secret, 1));
  await page.getByRole("button", { name: "Verify and log in" }).click();
  await expect(page).toHaveURL(/\/files$/);
  await expect(page.getByRole("heading", { level: 1, name: "My files" })).toBeVisible();

  // Turning it off makes login one step again.
  await page.goto("/settings/security");
  await page.getByLabel("Current code or your password").last().fill(account.password);
  await page.getByRole("button", { name: "Turn off two-step verification" }).click();
  await expect(page.getByText("Two-step verification is off.")).toBeVisible();
  await logOut(page);
  // Otherwise /login may load before the logout lands, and redirect the still-valid session to /files.
  await expect(page).toHaveURL(/\/login$/);
  await login(page, account);
});
