import type { Browser, BrowserContext, Page } from "@playwright/test";
import { expect, test } from "../support/test";
import * as OTPAuth from "otpauth";
import { expectAccessible } from "../support/a11y";
import { ADMIN, BASE_URL, E2E_PORT } from "../support/env";
import { myUserId, unsubscribePath } from "../notification-settings/steps";
import {
  createAndOpenFolder,
  login,
  logOut,
  MiB,
  newAccount,
  openUserMenu,
  randomFile,
  register,
  scratchDir,
  throttleUploads,
} from "../support/helpers";

/**
 * axe (WCAG 2.1 A and AA, colour contrast included) on every kind of page, logged out and in,
 * with realistic content, at desktop and phone widths (see support/a11y.ts). One owner builds
 * the content once; each test opens its page in that owner's (or a visitor's) session.
 */
// Each test checks several pages at two viewports: twice the default limit keeps a busy CI
// machine from failing a clean page.
test.describe.configure({ mode: "serial", timeout: 120_000 });

const owner = newAccount("a11y");
const FOLDER = `Projects ${Date.now().toString(36)}`;
/** A 1×1 PNG: an image, so the details page shows a picture preview and the grid a thumbnail. */
const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64");

let ownerContext: BrowserContext;
let page: Page;
const ids = { folder: "", textFile: "", imageFile: "", dropFolder: "", trashed: "" };
const links = { protected: "", file: "", drop: "" };

async function upload(name: string, mimeType: string, buffer: Buffer) {
  await page.getByTestId("tus-file-input").setInputFiles({ name, mimeType, buffer });
  await expect(page.getByTestId("upload-item").filter({ hasText: name })).toHaveAttribute("data-status", "done", { timeout: 30_000 });
}

/** The id in the row's Details link. */
async function detailsId(name: string): Promise<string> {
  const row = page.locator('[data-testid="listing-file"], [data-testid="listing-folder"]').filter({ hasText: name }).first();
  const href = await row.getByRole("link", { name: /^Details/ }).getAttribute("href");
  return href!.split("/").pop()!;
}

async function createLink(item: string, options: { password?: string; drop?: boolean } = {}): Promise<string> {
  await page.goto(`/shares?item=${item}`);
  if (options.drop) await page.getByLabel(/Only upload files/).check();
  if (options.password) await page.getByLabel("Password (optional)").fill(options.password);
  await page.getByRole("button", { name: "Create link" }).click();
  const created = page.getByRole("status").filter({ hasText: "Link created:" });
  await expect(created).toBeVisible();
  return new URL(/https?:\/\/\S+\/s\/[A-Za-z0-9_-]+/.exec((await created.textContent()) ?? "")![0]).pathname;
}

const freshContext = (browser: Browser) => browser.newContext({ baseURL: BASE_URL });
/**
 * The dark theme changes colours, not layout, and the light pass checks every page at both widths:
 * the dark pass checks the desktop width only.
 */
const DARK_VIEWPORTS: Array<"desktop"> = ["desktop"];

test.beforeAll(async ({ browser }) => {
  ownerContext = await freshContext(browser);
  page = await ownerContext.newPage();
});

test.afterAll(async () => {
  await ownerContext?.close();
});

test.describe("logged out", () => {
  for (const path of [
    "/login",
    "/register",
    "/register?check=1",
    "/forgot-password",
    "/reset-password/not-a-real-token",
    "/account-deleted",
  ]) {
    test(path, async ({ browser }) => {
      const context = await freshContext(browser);
      const visitor = await context.newPage();
      await visitor.goto(path);
      await expectAccessible(visitor, path);
      await context.close();
    });
  }

  test("/login and /register in the dark theme", async ({ browser }) => {
    const context = await freshContext(browser);
    const visitor = await context.newPage();
    await visitor.goto("/login");
    await visitor.getByTestId("theme-menu").locator(":scope > summary").click();
    await visitor.getByRole("button", { name: "Dark" }).click();
    await expect(visitor.locator("html")).toHaveAttribute("data-theme", "dark");
    await expectAccessible(visitor, "/login (dark)", DARK_VIEWPORTS);
    await visitor.goto("/register");
    await expectAccessible(visitor, "/register (dark)", DARK_VIEWPORTS);
    await context.close();
  });

  test("/login with an error message", async ({ browser }) => {
    const context = await freshContext(browser);
    const visitor = await context.newPage();
    await visitor.goto("/login");
    await visitor.getByLabel("Email", { exact: true }).fill("nobody@e2e.test");
    await visitor.getByLabel("Password", { exact: true }).fill("not-the-password");
    await visitor.getByRole("button", { name: "Log in" }).click();
    await expect(visitor.getByRole("alert")).toBeVisible();
    await expectAccessible(visitor, "/login (failed)");
    await context.close();
  });
});

test.describe("logged in", () => {
  test("/files, empty", async () => {
    await register(page, owner);
    await expect(page.getByText("This folder is empty.")).toBeVisible();
    await expectAccessible(page, "/files (empty)");
  });

  test("upload UI (JavaScript on) after uploads", async () => {
    await page.goto("/files");
    await upload("meeting-notes.txt", "text/plain", Buffer.from("Agenda\n1. Budget\n2. Hiring\n"));
    await upload("team-photo.png", "image/png", PNG);
    await upload("report-final.pdf", "application/pdf", Buffer.from("%PDF-1.4\n% not really\n"));
    await expectAccessible(page, "/files (upload panel)");
  });

  test("a folder with content, and /files with files and folders in list and grid views", async () => {
    await page.goto("/files");
    ids.folder = await createAndOpenFolder(page, FOLDER);
    await page.getByLabel("New folder").fill("Drafts");
    await page.getByRole("button", { name: "Create folder" }).click();
    await expect(page.getByText("Created folder “Drafts”.")).toBeVisible();
    await upload("plan.txt", "text/plain", Buffer.from("The plan.\n"));
    await page.goto(`/files/${ids.folder}`);
    await expectAccessible(page, "/files/<folder>");

    await page.goto("/files");
    await page.getByLabel("New folder").fill("Uploads box");
    await page.getByRole("button", { name: "Create folder" }).click();
    await expect(page.getByText("Created folder “Uploads box”.")).toBeVisible();
    ids.textFile = await detailsId("meeting-notes.txt");
    ids.imageFile = await detailsId("team-photo.png");
    ids.trashed = await detailsId("report-final.pdf");
    ids.dropFolder = await detailsId("Uploads box");
    await page.goto("/files?view=list");
    await expectAccessible(page, "/files (list)");
    await page.goto("/files?view=grid");
    await expect(page.getByTestId("folder-grid")).toBeVisible();
    await expectAccessible(page, "/files (grid)");
    await page.goto("/files?view=list");
  });

  test("file and folder details with previews", async () => {
    await page.goto(`/details/file/${ids.textFile}`);
    await expectAccessible(page, "/details/file (text)");
    await page.goto(`/details/file/${ids.imageFile}`);
    await expectAccessible(page, "/details/file (image)");
    await page.goto(`/details/folder/${ids.folder}`);
    await expectAccessible(page, "/details/folder");
  });

  test("details forms with validation errors", async () => {
    await page.goto(`/details/file/${ids.textFile}`);
    await page.getByRole("link", { name: "Rename", exact: true }).click();
    await page.getByLabel("New name", { exact: true }).fill("bad/name");
    await page.getByRole("button", { name: "Rename" }).click();
    await expect(page.locator("#rename-error")).toBeVisible();
    await expectAccessible(page, "/details/file (rename error)");
  });

  test("search with and without hits", async () => {
    await page.goto("/search");
    await expectAccessible(page, "/search");
    await page.goto("/search?q=meeting");
    await expect(page.locator("main ul").getByRole("link", { name: "meeting-notes.txt" })).toBeVisible();
    await expectAccessible(page, "/search (hits)");
    await page.goto("/search?q=zzqqxx");
    await expectAccessible(page, "/search (no hits)");
  });

  test("search with filters, sort, a custom date range, no match with filters and a bad parameter", async () => {
    await page.goto("/search?q=meeting&type=text&modified=custom&from=2020-01-01&size=small&sort=name&order=desc");
    await expect(page.getByTestId("search-own").getByTestId("hit-name").first()).toBeVisible();
    await expect(page.getByLabel("Modified from")).toBeVisible();
    await expectAccessible(page, "/search (filters, custom range, sorted)");
    await page.goto(`/search?q=meeting&folder=${ids.folder}`);
    await expect(page.getByLabel(/Only in/)).toBeChecked();
    await expectAccessible(page, "/search (in a folder)");
    await page.goto("/search?q=meeting&type=audio");
    await expect(page.getByRole("link", { name: "Clear the filters" })).toBeVisible();
    await expectAccessible(page, "/search (no match with filters)");
    await page.goto("/search?q=meeting&type=pictures");
    await expect(page.getByRole("link", { name: "Start a new search" })).toBeVisible();
    await expectAccessible(page, "/search (bad parameter)");
  });

  test("trash, empty and with an item", async () => {
    await page.goto("/trash");
    await expectAccessible(page, "/trash (empty)");
    await page.goto(`/details/file/${ids.trashed}`);
    await page.getByRole("link", { name: "Move to trash", exact: true }).click();
    await page.getByRole("button", { name: "Move “report-final.pdf” to trash" }).click();
    await expect(page).not.toHaveURL(/\/details\//);
    await page.goto("/trash");
    await expect(page.getByRole("button", { name: "Restore report-final.pdf" })).toBeVisible();
    await expectAccessible(page, "/trash");
    await page.getByRole("link", { name: "Delete forever… report-final.pdf" }).click();
    await expect(page).toHaveURL(/confirm=delete/);
    await expectAccessible(page, "/trash (delete forever confirmation)");
  });

  test("bulk move destination and trash confirmation pages", async () => {
    await page.goto(`/bulk?from=/files&intent=move&item=file:${ids.textFile}&item=file:${ids.imageFile}`);
    await expectAccessible(page, "/bulk (move)");
    await page.goto(`/bulk?from=/files&intent=trash&item=file:${ids.textFile}&item=folder:${ids.folder}`);
    await expectAccessible(page, "/bulk (trash confirmation)");
  });

  test("shares: the sharing form and the list of links", async () => {
    await page.goto("/shares");
    await expectAccessible(page, "/shares (no links)");
    links.protected = await createLink(`folder:${ids.folder}`, { password: "correct horse" });
    links.file = await createLink(`file:${ids.imageFile}`);
    links.drop = await createLink(`folder:${ids.dropFolder}`, { drop: true });
    await expectAccessible(page, "/shares?item=… (link created)");
    await page.goto("/shares");
    await expectAccessible(page, "/shares (with links)");
    await page.goto("/shared");
    await expectAccessible(page, "/shared");
    await page.goto("/activity");
    await expectAccessible(page, "/activity");
    await page.goto("/notifications");
    await expectAccessible(page, "/notifications");
  });

  test("account pages", async () => {
    for (const path of ["/settings/security", "/settings/security/mfa", "/settings/privacy", "/settings/tokens"]) {
      await page.goto(path);
      await expectAccessible(page, path);
    }
    // With a token listed and the new token shown once.
    await page.getByLabel("Name").fill("axe check");
    await page.getByRole("checkbox", { name: /files:read/ }).check();
    await page.getByRole("button", { name: "Create token" }).click();
    await page.getByRole("heading", { name: /Your new token/ }).waitFor();
    await expectAccessible(page, "/settings/tokens (token created)");
  });

  // Apart from the account pages: their axe runs already fill most of the 60 s test limit.
  test("webhook settings, empty and with an endpoint added", async () => {
    await page.goto("/settings/webhooks");
    await expectAccessible(page, "/settings/webhooks");
    await page.getByLabel("Address").fill("https://example.com/coffer-hook");
    // An event this account will not cause: nothing is sent to example.com during the run.
    await page.getByRole("checkbox", { name: "webhook.disabled" }).check();
    await page.getByRole("button", { name: "Add webhook" }).click();
    await page.getByRole("heading", { name: "The webhook was added." }).waitFor();
    await expectAccessible(page, "/settings/webhooks (webhook added)");
  });

  test("notification settings: the form, a refused save, and an unsubscribe link before and after", async () => {
    await page.goto("/settings/notifications");
    // Run alone (--grep), this test signs in an account of its own.
    if (new URL(page.url()).pathname === "/login") {
      await register(page, newAccount("a11y-notify"));
      await page.goto("/settings/notifications");
    }
    await expectAccessible(page, "/settings/notifications");
    await page.getByLabel("Time zone").fill("Mars/Olympus");
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByText("Not a time zone this server knows").first().waitFor();
    await expectAccessible(page, "/settings/notifications (refused)");
    await page.goto(unsubscribePath(await myUserId(page), "share.dropped"));
    await expectAccessible(page, "/unsubscribe/<token>");
    await page.getByRole("button", { name: "Unsubscribe" }).click();
    await page.getByText(/is now off/).waitFor();
    await expectAccessible(page, "/unsubscribe/<token> (done)");
  });

  test("an upload in progress and a paused one in the upload panel", async () => {
    const scratch = await scratchDir();
    const lift = await throttleUploads(page, 256 * 1024);
    try {
      const big = await randomFile(scratch.dir, "holiday-video.bin", 4 * MiB);
      await page.goto(`/files/${ids.folder}`);
      await page.getByTestId("tus-file-input").setInputFiles(big.path);
      const item = page.getByTestId("upload-item").filter({ hasText: big.name });
      await expect(item).toHaveAttribute("data-status", "uploading");
      await expectAccessible(page, "/files (upload in progress)");
      await item.getByRole("button", { name: "Pause" }).click();
      await expect(item).toHaveAttribute("data-status", "paused");
      await expectAccessible(page, "/files (upload paused)");
      await item.getByRole("button", { name: "Cancel" }).click();
    } finally {
      await lift();
      await scratch.cleanup();
    }
  });

  test("the folder page's states: a row menu open, the bulk bar, the shortcuts overlay, the drop overlay, the collapsed queue", async () => {
    await page.goto(`/files/${ids.folder}`);
    const menu = page.getByTestId("listing-file").first().getByTestId("row-menu");
    await menu.locator(":scope > summary").click();
    await expect(menu).toHaveAttribute("open", "");
    await expectAccessible(page, "/files/<folder> (row menu open)");
    await page.keyboard.press("Escape");
    await page.getByTestId("listing-file").first().getByRole("checkbox").check();
    await expect(page.getByTestId("bulk-bar")).toHaveAttribute("data-active", "true");
    await expectAccessible(page, "/files/<folder> (bulk bar with a selection)");
    await page.getByRole("button", { name: "Clear selection" }).click();
    await page.locator("h1").click();
    await page.keyboard.press("?");
    await expect(page.getByRole("dialog", { name: "Keyboard shortcuts" })).toBeVisible();
    await expectAccessible(page, "/files/<folder> (shortcuts overlay)");
    await page.keyboard.press("Escape");
    await page.getByTestId("upload-options").locator(":scope > summary").click();
    await expectAccessible(page, "/files/<folder> (upload options open)");
    await page.keyboard.press("Escape");
    await page.evaluate(() => {
      const transfer = new DataTransfer();
      transfer.items.add(new File(["x"], "x.txt", { type: "text/plain" }));
      document.body.dispatchEvent(new DragEvent("dragenter", { dataTransfer: transfer, bubbles: true, cancelable: true }));
    });
    await expect(page.getByTestId("drop-overlay")).toBeVisible();
    await expectAccessible(page, "/files/<folder> (drop overlay)");
    await page.keyboard.press("Escape");
    await expect(page.getByTestId("drop-overlay")).toHaveCount(0);
    await upload("queued-note.txt", "text/plain", Buffer.from("queue panel"));
    await page.getByTestId("upload-panel-toggle").click();
    await expect(page.getByTestId("upload-panel")).toHaveAttribute("data-collapsed", "true");
    await expectAccessible(page, "/files/<folder> (queue panel collapsed)");
  });

  test("open disclosures: the folder tree on a phone, a link's edit form", async () => {
    await page.goto(`/files/${ids.folder}`);
    await page.locator("main summary", { hasText: "Folders" }).evaluate((summary) => summary.parentElement!.setAttribute("open", ""));
    await expectAccessible(page, "/files/<folder> (folder tree open)");
    await page.goto("/shares");
    await page.getByText("Edit or revoke").first().click();
    await expectAccessible(page, "/shares (edit form open)");
  });

  test("two-step verification: setup, recovery codes and the second login step", async ({ browser }) => {
    const context = await freshContext(browser);
    const other = await context.newPage();
    const account = newAccount("a11ymfa");
    await register(other, account);
    await other.goto("/settings/security");
    await other.getByRole("button", { name: "Set up an authenticator app" }).click();
    await expect(other).toHaveURL(/\/settings\/security\/mfa$/);
    await expectAccessible(other, "/settings/security/mfa (setup)");
    const secret = (await other.getByTestId("mfa-secret").innerText()).replace(/\s/g, "");
    const code = (steps: number) =>
      new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), digits: 6, period: 30, algorithm: "SHA1" }).generate({
        timestamp: Date.now() + steps * 30_000,
      });
    await other.getByLabel("Code from your app").fill("000000");
    await other.getByRole("button", { name: "Turn on" }).click();
    await expect(other.getByRole("alert")).toBeVisible();
    await expectAccessible(other, "/settings/security/mfa (wrong code)");
    await other.getByLabel("Code from your app").fill(code(0));
    await other.getByRole("button", { name: "Turn on" }).click();
    await expect(other.getByTestId("recovery-codes").getByRole("listitem")).toHaveCount(10);
    await expectAccessible(other, "/settings/security/mfa (recovery codes)");
    await other.goto("/settings/security");
    await expectAccessible(other, "/settings/security (two-step on)");
    await logOut(other);
    await expect(other).toHaveURL(/\/login$/);
    await other.getByLabel("Email", { exact: true }).fill(account.email);
    await other.getByLabel("Password", { exact: true }).fill(account.password);
    await other.getByRole("button", { name: "Log in" }).click();
    await expect(other).toHaveURL(/\/login\/mfa$/);
    await expectAccessible(other, "/login/mfa");
    await other.getByLabel("Code").fill("000000");
    await other.getByRole("button", { name: "Verify and log in" }).click();
    await expect(other.getByRole("alert")).toContainText("That code is not right");
    await expectAccessible(other, "/login/mfa (wrong code)");
    await context.close();
  });

  test("passkeys: the list with a passkey and its rename and remove forms", async ({ browser }) => {
    // WebAuthn refuses IP addresses as relying-party ids, so this session uses the localhost name.
    const context = await browser.newContext({ baseURL: `http://localhost:${E2E_PORT}` });
    const other = await context.newPage();
    const cdp = await context.newCDPSession(other);
    await cdp.send("WebAuthn.enable");
    await cdp.send("WebAuthn.addVirtualAuthenticator", {
      options: { protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
    });
    await register(other, newAccount("a11ykey"));
    await other.goto("/settings/security");
    const section = other.getByTestId("passkeys-section");
    await section.getByLabel("Passkey name").fill("Laptop key");
    await section.getByRole("button", { name: "Add a passkey" }).click();
    await expect(section.getByText("Passkey “Laptop key” added.")).toBeVisible();
    for (const summary of await section.locator("summary").all()) await summary.click();
    await expectAccessible(other, "/settings/security (passkey, forms open)");
    await context.close();
  });

  test("the header's open user menu, and the compact menu on a phone", async () => {
    await page.goto("/files");
    await openUserMenu(page);
    await expectAccessible(page, "/files (user menu open)");
    await page.getByTestId("compact-menu").evaluate((details) => details.setAttribute("open", ""));
    await expectAccessible(page, "/files (compact menu open)");
  });

  /** The theme the server remembered for this browser (Remix's cookie holds base64 JSON). */
  async function themeInCookie(): Promise<string | undefined> {
    const value = (await page.context().cookies()).find((c) => c.name === "coffer_theme")?.value;
    return value ? (JSON.parse(Buffer.from(decodeURIComponent(value), "base64").toString("utf8")) as string) : undefined;
  }

  /** Switches to the dark theme, checks each page in it, then goes back to the system theme. */
  async function expectAccessibleInDark(paths: string[], withUserMenu = false) {
    await page.goto("/files");
    await (await openUserMenu(page)).getByRole("button", { name: "Dark" }).click();
    await expect(page.locator("html")).toHaveAttribute("data-theme", "dark");
    // The page shows the theme at once; the next page load needs the cookie the server sets.
    await expect.poll(themeInCookie).toBe("dark");
    try {
      for (const path of paths) {
        await page.goto(path);
        await expect(page.locator("html")).toHaveAttribute("data-theme", "dark");
        await expectAccessible(page, `${path} (dark)`, DARK_VIEWPORTS);
      }
      if (withUserMenu) {
        await openUserMenu(page);
        await expectAccessible(page, `${paths.at(-1)} (dark, user menu open)`, DARK_VIEWPORTS);
      }
    } finally {
      await (await openUserMenu(page)).getByRole("button", { name: "System" }).click();
      await expect(page.locator("html")).not.toHaveAttribute("data-theme", /.*/);
      await expect.poll(themeInCookie).not.toBe("dark");
    }
  }

  // Three tests rather than one: twelve pages at two viewports each outran the 60 s test limit.
  test("dark theme: files, a folder, details, search and trash", async () => {
    await expectAccessibleInDark([
      "/files",
      `/files/${ids.folder}?view=grid`,
      `/details/file/${ids.textFile}`,
      "/search?q=meeting",
      "/trash",
    ]);
  });

  test("dark theme: search with filters and a custom date range", async () => {
    await expectAccessibleInDark(["/search?q=meeting&type=text&modified=custom&sort=name", "/search?q=meeting&type=audio"]);
  });

  test("dark theme: sharing, activity, settings and the open user menu", async () => {
    await expectAccessibleInDark(["/shares", "/shared", "/activity", "/settings/security", "/settings/privacy", "/settings/tokens"], true);
  });

  test("dark theme: webhook settings, with an endpoint listed", async () => {
    await expectAccessibleInDark(["/settings/webhooks"]);
  });

  test("403 and 404 pages", async () => {
    await page.goto("/admin");
    await expect(page.getByRole("heading", { name: "Access denied" })).toBeVisible();
    await expectAccessible(page, "403 (/admin as a user)");
    await page.goto("/details/file/no-such-file");
    await expectAccessible(page, "404 (/details of an unknown file)");
  });
});

test.describe("public links", () => {
  test("password page, the unlocked folder, a file link, a drop link and an unknown link", async ({ browser }) => {
    const context = await freshContext(browser);
    const visitor = await context.newPage();
    await visitor.goto(links.protected);
    await expectAccessible(visitor, "/s/<token> (password)");
    await visitor.getByLabel("Password").fill("wrong horse");
    await visitor.getByRole("button", { name: "Open" }).click();
    await expectAccessible(visitor, "/s/<token> (wrong password)");
    await visitor.getByLabel("Password").fill("correct horse");
    await visitor.getByRole("button", { name: "Open" }).click();
    await expect(visitor.getByRole("heading", { level: 1, name: FOLDER })).toBeVisible();
    await expectAccessible(visitor, "/s/<token> (folder)");
    await visitor.goto(links.file);
    await expectAccessible(visitor, "/s/<token> (file)");
    await visitor.goto(links.drop);
    await expectAccessible(visitor, "/s/<token> (drop)");
    await visitor.goto("/s/no-such-link-token");
    await expectAccessible(visitor, "/s/<unknown> (404)");
    await context.close();
  });
});

test.describe("admin", () => {
  let context: BrowserContext;
  let admin: Page;
  test.beforeAll(async ({ browser }) => {
    context = await freshContext(browser);
    admin = await context.newPage();
    await login(admin, ADMIN);
  });
  test.afterAll(async () => {
    await context.close();
  });

  // Three tests rather than one: the sixteen pages at two viewports each outran the test limit.
  test("/admin and its sub-pages", async () => {
    for (const path of [
      "/admin",
      "/admin/users",
      "/admin/settings",
      "/admin/audit",
      "/admin/tokens",
      "/admin/analytics",
      "/admin/system",
      "/admin/jobs",
      "/admin/lifecycle",
      "/admin/holds",
    ]) {
      await admin.goto(path);
      await expectAccessible(admin, path);
    }
  });

  test("a user's status, deletion and erasure pages", async () => {
    await admin.goto("/admin/users");
    const statusHref = await admin
      .getByTestId("admin-user-row")
      .filter({ hasText: owner.email })
      .locator('a[href$="/status"]')
      .getAttribute("href");
    await admin.goto(statusHref!);
    await expectAccessible(admin, "/admin/users/<id>/status");
    await admin.goto(statusHref!.replace(/status$/, "delete"));
    await expectAccessible(admin, "/admin/users/<id>/delete");
    await admin.goto(statusHref!.replace(/status$/, "erasure"));
    await expectAccessible(admin, "/admin/users/<id>/erasure");
  });

  test("admin pages in the dark theme", async () => {
    await admin.goto("/admin");
    await (await openUserMenu(admin)).getByRole("button", { name: "Dark" }).click();
    await expect(admin.locator("html")).toHaveAttribute("data-theme", "dark");
    for (const path of ["/admin", "/admin/users", "/admin/settings", "/admin/audit", "/admin/system"]) {
      await admin.goto(path);
      await expectAccessible(admin, `${path} (dark)`, DARK_VIEWPORTS);
    }
  });
});
