import { expect, test, type Browser, type BrowserContext, type Page } from "@playwright/test";
import { expectAccessible } from "../support/a11y";
import { ADMIN, BASE_URL } from "../support/env";
import { createAndOpenFolder, login, newAccount, register } from "../support/helpers";

/**
 * axe (WCAG 2.1 A and AA, colour contrast included) on every kind of page, logged out and in,
 * with realistic content, at desktop and phone widths (see support/a11y.ts). One owner builds
 * the content once; each test opens its page in that owner's (or a visitor's) session.
 */
test.describe.configure({ mode: "serial" });

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

test.beforeAll(async ({ browser }) => {
  ownerContext = await freshContext(browser);
  page = await ownerContext.newPage();
});

test.afterAll(async () => {
  await ownerContext?.close();
});

test.describe("logged out", () => {
  for (const path of ["/login", "/register", "/forgot-password"]) {
    test(path, async ({ browser }) => {
      const context = await freshContext(browser);
      const visitor = await context.newPage();
      await visitor.goto(path);
      await expectAccessible(visitor, path);
      await context.close();
    });
  }

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

  test("trash, empty and with an item", async () => {
    await page.goto("/trash");
    await expectAccessible(page, "/trash (empty)");
    await page.goto(`/details/file/${ids.trashed}`);
    await page.getByRole("button", { name: "Move “report-final.pdf” to trash" }).click();
    await expect(page).not.toHaveURL(/\/details\//);
    await page.goto("/trash");
    await expect(page.getByRole("button", { name: "Restore report-final.pdf" })).toBeVisible();
    await expectAccessible(page, "/trash");
  });

  test("bulk move destination page", async () => {
    await page.goto(`/bulk?from=/files&intent=move&item=file:${ids.textFile}&item=file:${ids.imageFile}`);
    await expectAccessible(page, "/bulk (move)");
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
  });

  test("account pages", async () => {
    for (const path of ["/settings/security", "/settings/security/mfa", "/settings/privacy"]) {
      await page.goto(path);
      await expectAccessible(page, path);
    }
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
  test("/admin and its sub-pages", async ({ browser }) => {
    const context = await freshContext(browser);
    const admin = await context.newPage();
    await login(admin, ADMIN);
    for (const path of ["/admin", "/admin/settings", "/admin/audit"]) {
      await admin.goto(path);
      await expectAccessible(admin, path);
    }
    await admin.goto("/admin");
    const statusHref = await admin.getByTestId("admin-user-row").filter({ hasText: owner.email }).locator('a[href$="/status"]').getAttribute("href");
    await admin.goto(statusHref!);
    await expectAccessible(admin, "/admin/users/<id>/status");
    await admin.goto(statusHref!.replace(/status$/, "delete"));
    await expectAccessible(admin, "/admin/users/<id>/delete");
    await context.close();
  });
});
