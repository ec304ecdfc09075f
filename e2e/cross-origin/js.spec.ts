import http from "node:http";
import type { AddressInfo } from "node:net";
import { expect, test } from "../support/test";
import { BASE_URL } from "../support/env";
import { newAccount, register, waitForLiveConnection } from "../support/helpers";

/**
 * Request forgery and CSP in a real browser (in e2e/security/ so the js project picks it up).
 * The attacker page is served from another origin on this machine: same site (127.0.0.1), so
 * the SameSite=Lax session cookie does go along, and only the Origin check stands in the way.
 */
let attacker: http.Server;
let attackerUrl = "";
const PLANTED = `Planted ${Date.now().toString(36)}`;

test.beforeAll(async () => {
  attacker = http.createServer((_req, res) => {
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    res.end(`<!doctype html><title>Win a prize</title>
<form method="post" action="${BASE_URL}/files">
  <input type="hidden" name="intent" value="create-folder">
  <input type="hidden" name="name" value="${PLANTED}">
</form>
<script>document.forms[0].submit()</script>`);
  });
  await new Promise<void>((resolve) => attacker.listen(0, "127.0.0.1", resolve));
  attackerUrl = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}/`;
});

test.afterAll(async () => {
  await new Promise<void>((resolve) => attacker.close(() => resolve()));
});

test("a form auto-submitted to Coffer from another origin is refused and changes nothing", async ({ browser }) => {
  const context = await browser.newContext({ baseURL: BASE_URL });
  try {
    const page = await context.newPage();
    await register(page, newAccount("csrf"));

    const refused = page.waitForResponse((response) => response.url() === `${BASE_URL}/files` && response.request().method() === "POST");
    await page.goto(attackerUrl);
    const response = await refused;
    expect(response.status()).toBe(403);
    expect(response.request().headers().origin).toBe(attackerUrl.replace(/\/$/, ""));
    await expect(page.getByRole("heading", { level: 1, name: "Request refused" })).toBeVisible();
    await expect(page.getByText("came from another website")).toBeVisible();

    // Still signed in, and no folder was created.
    await page.getByRole("link", { name: "Go to my files" }).click();
    await expect(page.getByRole("heading", { level: 1, name: "My files" })).toBeVisible();
    await expect(page.getByText(PLANTED)).toHaveCount(0);
  } finally {
    await context.close();
  }
});

test("pages run under the nonce CSP without violations: hydration, navigation, forms and live updates", async ({ browser }) => {
  const context = await browser.newContext({ baseURL: BASE_URL });
  try {
    const page = await context.newPage();
    const violations: string[] = [];
    page.on("console", (message) => {
      if (/Content[- ]Security[- ]Policy|Refused to (execute|load|apply|connect|frame)/i.test(message.text()))
        violations.push(message.text());
    });
    page.on("pageerror", (error) => violations.push(String(error)));

    await register(page, newAccount("csp"));
    const connected = waitForLiveConnection(page);
    await page.reload();
    await connected;
    // Client-side navigation and a JS-enhanced form work: scripts were allowed to run.
    await page.getByLabel("New folder").fill("Under CSP");
    await page.getByRole("button", { name: "Create folder" }).click();
    await expect(page.getByText("Created folder “Under CSP”.")).toBeVisible();
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Trash" }).click();
    await expect(page).toHaveURL(/\/trash$/);
    await page.goBack();
    await expect(page.locator("main table").getByRole("link", { name: "Under CSP", exact: true })).toBeVisible();
    expect(violations).toEqual([]);
  } finally {
    await context.close();
  }
});
