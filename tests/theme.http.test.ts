import { beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "./support/app";
import { TestClient } from "./support/client";

/** The theme cookie: set by POST /theme (a form or the page's script), read and rendered on <html> by the server. */
describe("theme choice", () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ storage: "local", cache: "memory" });
  });

  const themeOf = async (client: TestClient, path = "/login") => {
    const html = await (await client.get(path)).text();
    return /<html[^>]*data-theme="(\w+)"/.exec(html)?.[1] ?? null;
  };

  it("follows the device until a theme is chosen, then renders the choice and goes back to the form's page", async () => {
    const browser = new TestClient(app.url);
    expect(await themeOf(browser)).toBeNull();
    const chosen = await browser.postForm("/theme", { theme: "dark", redirectTo: "/login?from=menu" });
    expect(chosen.status).toBe(302);
    expect(chosen.headers.get("location")).toBe("/login?from=menu");
    expect(chosen.headers.get("set-cookie")).toMatch(/^coffer_theme=.*Max-Age=31536000.*HttpOnly.*SameSite=Lax/i);
    expect(await themeOf(browser)).toBe("dark");
    await browser.postForm("/theme", { theme: "system", redirectTo: "/login" });
    expect(await themeOf(browser)).toBeNull();
  });

  it("answers the page's script (no redirectTo) with the theme instead of a redirect", async () => {
    const browser = new TestClient(app.url);
    const saved = await browser.postForm("/theme", { theme: "light" });
    expect(saved.status).toBe(200);
    expect(await themeOf(browser)).toBe("light");
  });

  it("refuses an unknown theme, keeps the last one, and never redirects off the site", async () => {
    const browser = new TestClient(app.url);
    await browser.postForm("/theme", { theme: "dark", redirectTo: "/login" });
    const refused = await browser.postForm("/theme", { theme: "purple", redirectTo: "/login" });
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain("Choose light, dark or system.");
    expect(await themeOf(browser)).toBe("dark");
    for (const target of ["//evil.example/", "https://evil.example/", "/\\evil.example"]) {
      const answer = await browser.postForm("/theme", { theme: "light", redirectTo: target });
      expect(answer.headers.get("location")).toBe("/");
    }
    expect((await browser.get("/theme")).headers.get("location")).toBe("/");
  });

  it("reads a forged or broken cookie as the device's theme", async () => {
    for (const value of ["not-base64!", Buffer.from(JSON.stringify("purple")).toString("base64"), "%"]) {
      const browser = new TestClient(app.url);
      browser.cookies.set("coffer_theme", value);
      const page = await browser.get("/login");
      expect(page.status).toBe(200);
      expect(await themeOf(browser)).toBeNull();
    }
  });
});
