import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import type { Page } from "@playwright/test";
import { expect, test } from "../support/test";
import * as OTPAuth from "otpauth";
import { startTestOidcProvider, type TestOidcProvider } from "../../tests/support/oidc-provider";
import { logOut } from "../support/helpers";

/**
 * Single sign-on in the browser. The shared e2e server has no provider configured, so this spec
 * starts a real OpenID Connect provider in the test process and a second Coffer (production
 * build, own embedded PostgreSQL and data directory) configured for it.
 */

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

let idp: TestOidcProvider;
let coffer: ChildProcess;
let appUrl: string;
let dataDir: string;

test.beforeAll(async () => {
  test.setTimeout(120_000);
  idp = await startTestOidcProvider();
  idp.users.set("ada", { email: `ada-${Date.now().toString(36)}@sso.test`, emailVerified: true, name: "Ada SSO" });
  const port = await freePort();
  appUrl = `http://127.0.0.1:${port}`;
  idp.registerRedirectUris([`${appUrl}/auth/oidc/callback`]);
  dataDir = await mkdtemp(path.join(os.tmpdir(), "coffer-e2e-sso-"));
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of ["DATABASE_URL", "S3_ENDPOINT", "MEILI_HOST", "REDIS_URL", "APP_URL", "SSO_ONLY"]) delete env[key];
  coffer = spawn(process.execPath, ["node_modules/tsx/dist/cli.mjs", "server.ts"], {
    cwd: path.resolve(import.meta.dirname, "../.."),
    env: {
      ...env,
      ...idp.appEnv,
      NODE_ENV: "production",
      HOST: "127.0.0.1",
      PORT: String(port),
      EMBEDDED_PG_PORT: String(await freePort()),
      DATA_DIR: dataDir,
      SESSION_SECRET: "e2e-sso-session-secret-0123456789abcdef-not-for-production",
      LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (coffer.exitCode !== null) throw new Error(`the SSO Coffer exited with ${coffer.exitCode}`);
    const healthy = await fetch(`${appUrl}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (healthy) break;
    if (Date.now() > deadline) throw new Error("the SSO Coffer did not become healthy in 90 s");
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
});

test.afterAll(async () => {
  if (coffer && coffer.exitCode === null) {
    const exited = new Promise((resolve) => coffer.once("exit", resolve));
    coffer.kill("SIGTERM");
    // The server stops its embedded PostgreSQL on SIGTERM; give it time before removing its files.
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 20_000))]);
    if (coffer.exitCode === null) coffer.kill("SIGKILL");
  }
  await idp?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

test("signs in with the provider's login page and lands in My files", async ({ page }) => {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));

  await page.goto(`${appUrl}/login`);
  await expect(page.getByLabel("Password", { exact: true })).toBeVisible();
  await page.getByRole("link", { name: "Sign in with Test IdP" }).click();

  await expect(page).toHaveURL(new RegExp(`^${idp.issuer}/interaction/`));
  await page.getByLabel("Username").fill("ada");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Allow" }).click();

  await expect(page).toHaveURL(`${appUrl}/files`);
  await expect(page.getByRole("heading", { level: 1, name: "My files" })).toBeVisible();
  expect(errors).toEqual([]);
});

test("an email the provider has not verified is refused with a page that offers the way back", async ({ page }) => {
  idp.users.set("mallory", { email: "mallory@sso.test", emailVerified: false, name: "Mallory" });
  await page.goto(`${appUrl}/login`);
  await page.getByRole("link", { name: "Sign in with Test IdP" }).click();
  await page.getByLabel("Username").fill("mallory");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Allow" }).click();
  await expect(page.getByRole("alert")).toContainText("has not verified the email address mallory@sso.test");
  await page.getByRole("link", { name: "Back to the login page" }).click();
  await expect(page).toHaveURL(`${appUrl}/login`);
});

test("without JavaScript, an account without a password confirms at the provider and sets one", async ({ browser }) => {
  const email = `grace-${Date.now().toString(36)}@sso.test`;
  idp.users.set("grace", { email, emailVerified: true, name: "Grace SSO" });
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  const signInAtProvider = async (landing: RegExp | string) => {
    await page.getByLabel("Username").fill("grace");
    await page.getByRole("button", { name: "Sign in" }).click();
    // The provider asks for consent only the first time.
    await expect(page.getByRole("button", { name: "Sign in" })).toHaveCount(0);
    const allow = page.getByRole("button", { name: "Allow" });
    if (await allow.count()) await allow.click();
    await expect(page).toHaveURL(landing);
  };
  try {
    await page.goto(`${appUrl}/login`);
    await page.getByRole("link", { name: "Sign in with Test IdP" }).click();
    await signInAtProvider(`${appUrl}/files`);

    await page.goto(`${appUrl}/settings/security`);
    const passwordSection = page.getByTestId("password-section");
    await expect(passwordSection).toContainText("have no password");
    await expect(passwordSection.getByLabel("Current password")).toHaveCount(0);
    // The provider asks for the login again although its own session is still open.
    await passwordSection.getByRole("link", { name: "Confirm with Test IdP" }).click();
    await expect(page).toHaveURL(new RegExp(`^${idp.issuer}/interaction/`));
    await signInAtProvider(`${appUrl}/settings/security`);

    await expect(passwordSection).toContainText("You confirmed it's you with Test IdP");
    await passwordSection.getByLabel("New password", { exact: true }).fill("a quiet harbour at dawn 42");
    await passwordSection.getByLabel("Confirm new password").fill("a quiet harbour at dawn 42");
    await passwordSection.getByRole("button", { name: "Set password" }).click();
    await expect(page.getByText("Your password was set")).toBeVisible();
    await expect(page.getByTestId("password-section").getByLabel("Current password")).toBeVisible();
  } finally {
    await context.close();
  }
});

/** Goes through the provider's pages (login, consent: each only when it asks) until Coffer's `landing` page. */
async function throughProvider(page: Page, login: string, landing: string) {
  for (let step = 0; step < 3; step++) {
    await page.waitForURL((url) => url.href.startsWith(landing) || url.href.startsWith(`${idp.issuer}/interaction/`));
    if (page.url().startsWith(landing)) return;
    const username = page.getByLabel("Username");
    const button = (await username.count())
      ? page.getByRole("button", { name: "Sign in", exact: true })
      : page.getByRole("button", { name: "Allow" });
    if (await username.count()) await username.fill(login);
    await button.click();
    await expect(button).toHaveCount(0);
  }
  expect(page.url().startsWith(landing), page.url()).toBe(true);
}

const totpCode = (secret: string, offsetSteps = 0) =>
  new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), digits: 6, period: 30, algorithm: "SHA1" }).generate({
    timestamp: Date.now() + offsetSteps * 30_000,
  });

/** Turns on two-step verification with an authenticator app; returns the app's secret. */
async function turnOnAuthenticatorApp(page: Page): Promise<string> {
  await page.goto(`${appUrl}/settings/security/mfa`);
  await page.getByRole("button", { name: "Set up an authenticator app" }).click();
  const secret = (await page.getByTestId("mfa-secret").textContent())!.replace(/\s/g, "");
  await page.getByLabel("Code from your app").fill(totpCode(secret));
  await page.getByRole("button", { name: "Turn on" }).click();
  await expect(page.getByText("Two-step verification is on.")).toBeVisible();
  return secret;
}

test("with the admin's setting on, single sign-on of an account with an authenticator app goes on to Coffer's second step", async ({
  page,
}) => {
  // Ada is the first account here, so the administrator.
  await page.goto(`${appUrl}/login`);
  await page.getByRole("link", { name: "Sign in with Test IdP" }).click();
  await throughProvider(page, "ada", `${appUrl}/files`);

  const secret = await turnOnAuthenticatorApp(page);
  await expect(page.getByTestId("mfa-intro")).toContainText("You sign in with Test IdP, which does its own checks");

  await page.goto(`${appUrl}/admin/settings`);
  const setting = page.getByLabel("Also require Coffer's two-step verification after single sign-on");
  await expect(setting).not.toBeChecked();
  await setting.check();
  await page.getByRole("button", { name: "Save settings" }).click();
  await expect(page.getByText("Settings saved.")).toBeVisible();
  await page.goto(`${appUrl}/settings/security/mfa`);
  await expect(page.getByTestId("mfa-intro")).toContainText("After you sign in with Test IdP, Coffer asks for a code");
  await logOut(page);
  await expect(page).toHaveURL(`${appUrl}/login`);
  await page.getByRole("link", { name: "Sign in with Test IdP" }).click();
  await throughProvider(page, "ada", `${appUrl}/login/mfa`);
  await expect(page.getByRole("heading", { name: "Two-step verification" })).toBeVisible();
  await expect(page.getByRole("link", { name: "Start again from the login page" })).toBeVisible();
  await page.getByLabel("Code", { exact: true }).fill(totpCode(secret, 1));
  await page.getByRole("button", { name: "Verify and log in" }).click();
  await expect(page).toHaveURL(`${appUrl}/files`);
  await expect(page.getByRole("heading", { level: 1, name: "My files" })).toBeVisible();

  // Back to the default, for the other tests of this server.
  await page.goto(`${appUrl}/admin/settings`);
  await page.getByLabel("Also require Coffer's two-step verification after single sign-on").uncheck();
  await page.getByRole("button", { name: "Save settings" }).click();
  await expect(page.getByText("Settings saved.")).toBeVisible();
});

test("an account without a password confirms adding a passkey with a code from its app, never a password", async ({ page }) => {
  idp.users.set("hopper", { email: `hopper-${Date.now().toString(36)}@sso.test`, emailVerified: true, name: "Hopper SSO" });
  await page.goto(`${appUrl}/login`);
  await page.getByRole("link", { name: "Sign in with Test IdP" }).click();
  await throughProvider(page, "hopper", `${appUrl}/files`);

  // No authenticator app yet: only the provider can confirm, so no field is offered.
  await page.goto(`${appUrl}/settings/security`);
  const add = page.getByRole("form", { name: "Add a passkey" });
  await expect(add.getByRole("button", { name: "Add a passkey" })).toBeVisible();
  await expect(add.locator("#passkey-new-proof")).toHaveCount(0);
  await expect(add).toContainText("confirm with Test IdP");

  await turnOnAuthenticatorApp(page);

  // With the app on: a labelled code field (plain text, one-time-code), or the provider.
  await page.goto(`${appUrl}/settings/security`);
  const proof = add.getByLabel("A current code from your app, or a recovery code");
  await expect(proof).toBeVisible();
  await expect(proof).toHaveAttribute("type", "text");
  await expect(proof).toHaveAttribute("autocomplete", "one-time-code");
  await expect(add.getByText(/password/i)).toHaveCount(0);
  await expect(add.getByRole("link", { name: "Or confirm with Test IdP instead" })).toBeVisible();
});
