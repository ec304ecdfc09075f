import { randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "./support/app";
import { TestClient } from "./support/client";

/** A browser without JavaScript: it posts forms with the fields in page order, token first. */
function formTokenOf(html: string): string {
  const match = /name="_csrf" value="([A-Za-z0-9_-]+)"/.exec(html);
  if (!match) throw new Error("the page has no CSRF field");
  return match[1];
}

function postUrlencoded(client: TestClient, path: string, body: string) {
  return client.request(path, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body });
}

/** Every POST form of the page has _csrf as its first field. Returns how many forms it saw. */
function expectTokenFirstInEveryPostForm(html: string, token: string): number {
  const forms = [...html.matchAll(/<form\b[^>]*>([\s\S]*?)<\/form>/g)].filter((form) => /method="post"/i.test(form[0]));
  for (const form of forms) {
    const firstField = /<(input|select|textarea|button)\b[^>]*>/.exec(form[1])?.[0] ?? "";
    expect(firstField, `first field of ${form[0].slice(0, form[0].indexOf(">") + 1)}`).toContain('name="_csrf"');
    expect(firstField).toContain(`value="${token}"`);
  }
  return forms.length;
}

describe("CSRF tokens on every state-changing request", () => {
  let app: TestApp;
  let browser: TestClient;
  let token: string;

  beforeAll(async () => {
    app = await startTestApp({ storage: "local", cache: "memory" });
    await new TestClient(app.url).register("Admin", "admin@example.com");
    browser = new TestClient(app.url);
    browser.sendCsrfToken = false;
    const loginPage = await browser.get("/login");
    expect(loginPage.headers.get("set-cookie")).toMatch(/coffer_csrf=[^;]+; Path=\/; HttpOnly; SameSite=Lax/);
    token = formTokenOf(await loginPage.text());
    const registered = await postUrlencoded(
      browser,
      "/register",
      new URLSearchParams({
        _csrf: token,
        name: "Fiona Form",
        email: "fiona@example.com",
        password: "correct horse battery staple",
      }).toString(),
    );
    expect(registered.status).toBe(302);
    // Registering signs in, which renews the token: one learnt before is worth nothing after.
    const before = token;
    token = formTokenOf(await (await browser.get("/files")).text());
    expect(token).not.toBe(before);
    const stale = await postUrlencoded(
      browser,
      "/files",
      new URLSearchParams({ _csrf: before, intent: "create-folder", name: "Stale" }).toString(),
    );
    expect(stale.status).toBe(403);
  });

  it("renews the token at sign-in, refusing the one from the login page", async () => {
    const other = new TestClient(app.url);
    other.sendCsrfToken = false;
    const before = formTokenOf(await (await other.get("/login")).text());
    const loggedIn = await postUrlencoded(
      other,
      "/login",
      new URLSearchParams({ _csrf: before, email: "fiona@example.com", password: "correct horse battery staple" }).toString(),
    );
    expect(loggedIn.status).toBe(302);
    const after = formTokenOf(await (await other.get("/files")).text());
    expect(after).not.toBe(before);
    const stale = await postUrlencoded(
      other,
      "/files",
      new URLSearchParams({ _csrf: before, intent: "create-folder", name: "Stale" }).toString(),
    );
    expect(stale.status).toBe(403);
    const fresh = await postUrlencoded(
      other,
      "/files",
      new URLSearchParams({ _csrf: after, intent: "create-folder", name: "Fresh" }).toString(),
    );
    expect(fresh.status).toBe(200);
    expect(await app.services.prisma.folder.count({ where: { name: "Stale" } })).toBe(0);
  });

  it("puts the token first in every POST form of the app's pages, the same token for one browser", async () => {
    let forms = 0;
    for (const path of ["/files", "/trash", "/shares", "/settings/privacy"]) {
      const page = await browser.get(path);
      expect(page.status, path).toBe(200);
      forms += expectTokenFirstInEveryPostForm(await page.text(), token);
    }
    expect(forms).toBeGreaterThanOrEqual(4);
    const anonymous = new TestClient(app.url);
    expect(
      expectTokenFirstInEveryPostForm(
        await (await anonymous.get("/login")).text(),
        formTokenOf(await (await anonymous.get("/login")).text()),
      ),
      // The login form and the header's theme choice.
    ).toBe(2);
  });

  it("accepts a form whose first field is the token, and one that holds nothing else", async () => {
    const created = await postUrlencoded(
      browser,
      "/files",
      new URLSearchParams({ _csrf: token, intent: "create-folder", name: "Made by a form" }).toString(),
    );
    expect(created.status).toBe(200);
    expect(await created.text()).toContain("Created folder");
    const other = new TestClient(app.url);
    other.sendCsrfToken = false;
    await other.get("/login");
    const loggedIn = await postUrlencoded(
      other,
      "/login",
      new URLSearchParams({
        _csrf: formTokenOf(await (await other.get("/login")).text()),
        email: "fiona@example.com",
        password: "correct horse battery staple",
      }).toString(),
    );
    expect(loggedIn.status).toBe(302);
    const logout = await postUrlencoded(
      other,
      "/logout",
      new URLSearchParams({ _csrf: formTokenOf(await (await other.get("/files")).text()) }).toString(),
    );
    expect(logout.status).toBe(302);
    expect((await other.get("/files")).status).toBe(302);
  });

  it.each([
    ["no token", (_token: string) => new URLSearchParams({ intent: "create-folder", name: "Forged" }).toString()],
    [
      "the token after other fields",
      (good: string) => new URLSearchParams({ intent: "create-folder", name: "Forged", _csrf: good }).toString(),
    ],
    [
      "a wrong token",
      (_token: string) => new URLSearchParams({ _csrf: "x".repeat(43), intent: "create-folder", name: "Forged" }).toString(),
    ],
    ["an empty body", (_token: string) => ""],
  ])("refuses a form with %s, changing nothing", async (_label, body) => {
    const response = await postUrlencoded(browser, "/files", body(token));
    expect(response.status).toBe(403);
    const page = await response.text();
    expect(page).toContain("This form has expired");
    expect(page).toContain("nothing was changed");
    expect(page).not.toMatch(/at \w+ \(/);
    const app_ = app;
    expect(await app_.services.prisma.folder.count({ where: { name: "Forged" } })).toBe(0);
  });

  it("refuses another browser's token, and a browser without the cookie", async () => {
    const stranger = new TestClient(app.url);
    const strangersToken = formTokenOf(await (await stranger.get("/login")).text());
    expect(strangersToken).not.toBe(token);
    const crossed = await postUrlencoded(
      browser,
      "/files",
      new URLSearchParams({ _csrf: strangersToken, intent: "create-folder", name: "Forged" }).toString(),
    );
    expect(crossed.status).toBe(403);

    const cookieless = new TestClient(app.url);
    cookieless.sendCsrfToken = false;
    for (const [name, value] of browser.cookies) if (!name.includes("csrf")) cookieless.cookies.set(name, value);
    const response = await postUrlencoded(
      cookieless,
      "/files",
      new URLSearchParams({ _csrf: token, intent: "create-folder", name: "Forged" }).toString(),
    );
    expect(response.status).toBe(403);
    expect(await app.services.prisma.folder.count({ where: { name: "Forged" } })).toBe(0);
  });

  it("takes the token from the X-CSRF-Token header, for scripts", async () => {
    const ok = await browser.request("/files", {
      method: "POST",
      headers: { "x-csrf-token": token, "content-type": "application/x-www-form-urlencoded" },
      body: "intent=create-folder&name=By+header",
    });
    expect(ok.status).toBe(200);
    const bad = await browser.request("/files", {
      method: "POST",
      headers: { "x-csrf-token": "nope", "content-type": "application/x-www-form-urlencoded" },
      body: `_csrf=${token}&intent=create-folder&name=Forged`,
    });
    expect(bad.status).toBe(403);
  });

  it("streams a multipart upload whose first part is the token, and refuses one without it before storing a byte", async () => {
    const user = await app.services.prisma.user.findUniqueOrThrow({ where: { email: "fiona@example.com" } });
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const form = new FormData();
    form.append("_csrf", token);
    form.append("onConflict", "keep-both");
    form.append("file", new Blob([data]), "big.bin");
    const uploaded = await browser.request("/files", { method: "POST", body: form });
    expect(uploaded.status).toBe(200);
    const file = await app.services.prisma.file.findFirstOrThrow({ where: { ownerId: user.id, name: "big.bin" } });
    expect(Number(file.size)).toBe(data.length);
    const download = await browser.get(`/download/${file.id}`);
    expect(Buffer.from(await download.arrayBuffer()).equals(data)).toBe(true);

    const objectsBefore = await countObjects(app);
    const forged = new FormData();
    forged.append("file", new Blob([randomBytes(1024)]), "forged.bin");
    forged.append("_csrf", token);
    const refused = await browser.request("/files", { method: "POST", body: forged });
    expect(refused.status).toBe(403);
    expect(await app.services.prisma.file.count({ where: { name: "forged.bin" } })).toBe(0);
    expect(await countObjects(app)).toBe(objectsBefore);
  });

  it("leaves safe methods alone", async () => {
    const stranger = new TestClient(app.url);
    stranger.sendCsrfToken = false;
    expect((await stranger.get("/login")).status).toBe(200);
    expect((await stranger.request("/healthz", { method: "HEAD" })).status).toBe(200);
  });
});

async function countObjects(app: TestApp): Promise<number> {
  let count = 0;
  for await (const _ of app.services.storage.list()) count++;
  return count;
}
