import type { Page, Request } from "@playwright/test";
import { expect, test } from "../support/test";
import { E2E_PORT } from "../support/env";
import { logOut, newAccount, register } from "../support/helpers";

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

/** Resolves when the page has asked for a passwordless passkey challenge. */
function waitForChallenge(page: Page) {
  return page.waitForRequest((request) => request.url().endsWith("/login/passkey") && request.postDataJSON()?.step === "options");
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

  // Passwordless: the login page's button alone signs in. Chromium's virtual authenticator
  // answers the login page's passkey autofill request at once when it may simulate the user's
  // presence, so it may not until the page waits for it: then the button takes over.
  await cdp.send("WebAuthn.setAutomaticPresenceSimulation", { authenticatorId, enabled: false });
  const autofillStarted = waitForChallenge(page);
  await logOut(page);
  await autofillStarted;
  await cdp.send("WebAuthn.setAutomaticPresenceSimulation", { authenticatorId, enabled: true });
  // Now that it may, the authenticator sometimes answers the waiting autofill request before the
  // button is clicked, and the page is gone: either way the passkey alone signs in.
  await Promise.race([
    page.waitForURL(/\/files$/),
    page
      .getByRole("button", { name: "Sign in with a passkey" })
      .click()
      .catch(() => undefined),
  ]);
  await expect(page).toHaveURL(/\/files$/);
  await expect(page.getByRole("heading", { level: 1, name: "My files" })).toBeVisible();

  // With the password, the passkey is the second step.
  await cdp.send("WebAuthn.setAutomaticPresenceSimulation", { authenticatorId, enabled: false });
  const autofillAgain = waitForChallenge(page);
  await logOut(page);
  await autofillAgain;
  await page.getByLabel("Email", { exact: true }).fill(account.email);
  await page.getByLabel("Password", { exact: true }).fill(account.password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/login\/mfa$/);
  await expect(page.getByText("Use one of your passkeys to finish logging in.")).toBeVisible();
  await cdp.send("WebAuthn.setAutomaticPresenceSimulation", { authenticatorId, enabled: true });
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

test("offers the passkey in the email field's autofill and signs in with it", async ({ page }) => {
  const { cdp, authenticatorId } = await addVirtualAuthenticator(page);
  const account = newAccount("autofill");
  await register(page, account);
  await page.goto("/settings/security");
  const section = page.getByTestId("passkeys-section");
  await section.getByLabel("Passkey name").fill("Autofill key");
  await section.getByRole("button", { name: "Add a passkey" }).click();
  await expect(section.getByText("Passkey “Autofill key” added.")).toBeVisible();
  expect((await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials).toHaveLength(1);

  // While the authenticator waits for the person, the page waits too, with the email field
  // marked for passkey autofill and a conditional request (no button pressed) pending.
  await cdp.send("WebAuthn.setAutomaticPresenceSimulation", { authenticatorId, enabled: false });
  const started = waitForChallenge(page);
  await logOut(page);
  await started;
  const email = page.getByLabel("Email", { exact: true });
  await expect(email).toHaveAttribute("autocomplete", "username webauthn");
  await expect(page.getByRole("button", { name: "Sign in with a passkey" })).toBeEnabled();

  // Picking the passkey signs in. Chromium's virtual authenticator picks the only one itself
  // when it may simulate the person, which it does only for requests started after that.
  await cdp.send("WebAuthn.setAutomaticPresenceSimulation", { authenticatorId, enabled: true });
  const again = waitForChallenge(page);
  await page.reload();
  await again;
  await expect(page).toHaveURL(/\/files$/);
  await expect(page.getByRole("heading", { level: 1, name: "My files" })).toBeVisible();
  expect(await page.evaluate(() => document.cookie)).not.toContain("coffer_passkey");
});

test("the passkey button right after the page's autofill request: both challenges stay valid, the button signs in", async ({ page }) => {
  const { cdp, authenticatorId } = await addVirtualAuthenticator(page);
  const account = newAccount("race");
  await register(page, account);
  await page.goto("/settings/security");
  const section = page.getByTestId("passkeys-section");
  await section.getByLabel("Passkey name").fill("Race key");
  await section.getByRole("button", { name: "Add a passkey" }).click();
  await expect(section.getByText("Passkey “Race key” added.")).toBeVisible();
  expect((await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials).toHaveLength(1);

  // The worst order: the autofill's challenge request leaves first but its answer (and cookie)
  // arrives only after the button's challenge, just before the button's passkey is checked. With
  // one challenge per cookie, the later cookie would replace the button's and its check would fail.
  let autofillRequest: Request | null = null;
  let releaseAutofill!: () => void;
  const autofillHeld = new Promise<void>((resolve) => (releaseAutofill = resolve));
  const order: string[] = [];
  await page.route("**/login/passkey", async (route) => {
    const body = route.request().postDataJSON() as { step?: string } | null;
    if (body?.step === "options" && autofillRequest === null) {
      autofillRequest = route.request();
      await autofillHeld;
      order.push("autofill options");
      return route.continue();
    }
    if (body?.step === "verify" && !order.includes("autofill options")) {
      const autofillAnswered = page.waitForResponse((response) => response.request() === autofillRequest);
      releaseAutofill();
      await autofillAnswered;
      order.push("button verify");
      return route.continue();
    }
    order.push(body?.step === "verify" ? "verify" : "button options");
    return route.continue();
  });
  const autofillStarted = waitForChallenge(page);
  await logOut(page);
  await autofillStarted;
  await page.getByRole("button", { name: "Sign in with a passkey" }).click();
  await expect(page).toHaveURL(/\/files$/);
  await expect(page.getByRole("heading", { level: 1, name: "My files" })).toBeVisible();
  expect(order).toEqual(["button options", "autofill options", "button verify"]);
});

test("never tells a browser that is still loading its scripts that passkeys need JavaScript", async ({ page }) => {
  // Scripts that never arrive: the page stays as the server rendered it, as it is before they load.
  await page.route(/\/assets\/.*\.js$/, (route) => route.abort());
  await page.goto("/login");
  await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
  await expect(page.getByText("Logging in with a passkey needs JavaScript.")).toBeHidden();
});
