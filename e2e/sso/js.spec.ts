import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { startTestOidcProvider, type TestOidcProvider } from "../../tests/support/oidc-provider";

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
    const healthy = await fetch(`${appUrl}/healthz`).then((r) => r.ok, () => false);
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
