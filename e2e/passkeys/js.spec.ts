import { expect, test, type Page } from "@playwright/test";
import { E2E_PORT } from "../support/env";
import { newAccount, register } from "../support/helpers";

// WebAuthn refuses IP addresses as relying-party ids, so these tests use the localhost name.
test.use({ baseURL: `http://localhost:${E2E_PORT}` });

/** Chromium's virtual authenticator: a platform passkey that verifies the user (like a fingerprint). */
async function addVirtualAuthenticator(page: Page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: { protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
  });
  return { cdp, authenticatorId };
}

async function logOut(page: Page) {
  await page.getByRole("button", { name: "Log out", exact: true }).first().click();
  await expect(page).toHaveURL(/\/login$/);
}

test("adds a passkey in settings, then logs in with it without a password and as the second step", async ({ page }) => {
  const { cdp, authenticatorId } = await addVirtualAuthenticator(page);
  const account = newAccount("passkey");
  await register(page, account);

  await page.goto("/settings/security");
  const section = page.getByTestId("passkeys-section");
  await expect(section.getByRole("heading", { name: "Passkeys" })).toBeVisible();
  await expect(section.getByText("You have no passkeys yet")).toBeVisible();
  // A name is needed first.
  await section.getByRole("button", { name: "Add a passkey" }).click();
  await expect(section.getByRole("alert")).toContainText("Give the passkey a name first.");
  await section.getByLabel("Passkey name").fill("Virtual key");
  await section.getByRole("button", { name: "Add a passkey" }).click();
  await expect(section.getByText("Passkey “Virtual key” added.")).toBeVisible();
  await expect(section.getByTestId("passkey-list")).toContainText("Virtual key");
  const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
  expect(credentials).toHaveLength(1);
  expect(credentials[0].isResidentCredential).toBe(true);

  // Passwordless: the login page's button alone signs in.
  await logOut(page);
  await page.getByRole("button", { name: "Sign in with a passkey" }).click();
  await expect(page).toHaveURL(/\/files$/);
  await expect(page.getByRole("heading", { level: 1, name: "My files" })).toBeVisible();

  // With the password, the passkey is the second step.
  await logOut(page);
  await page.getByLabel("Email", { exact: true }).fill(account.email);
  await page.getByLabel("Password", { exact: true }).fill(account.password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/login\/mfa$/);
  await expect(page.getByText("Use one of your passkeys to finish logging in.")).toBeVisible();
  await page.getByRole("button", { name: "Use a passkey" }).click();
  await expect(page).toHaveURL(/\/files$/);

  // The settings list shows it was used; removing it needs the password.
  await page.goto("/settings/security");
  await expect(section.getByTestId("passkey-list")).toContainText("last used");
  await section.getByText("Remove…").click();
  await section.getByLabel("Your password or a current code, to confirm").fill(account.password);
  await section.getByRole("button", { name: "Remove passkey" }).click();
  await expect(page.getByText("The passkey was removed.")).toBeVisible();
  await expect(section.getByText("You have no passkeys yet")).toBeVisible();
});

test("says so when the authenticator has no passkey for this site", async ({ page }) => {
  await addVirtualAuthenticator(page);
  await page.goto("/login");
  await page.getByRole("button", { name: "Sign in with a passkey" }).click();
  await expect(page.getByRole("alert")).toContainText(/cancelled or timed out|did not work/);
  await expect(page).toHaveURL(/\/login$/);
});
