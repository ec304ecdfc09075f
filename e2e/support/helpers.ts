import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, open, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { expect, type Download, type Page } from "@playwright/test";

export const MiB = 1024 * 1024;

export interface Account {
  name: string;
  email: string;
  password: string;
}

/** A fresh account; emails are unique per call because specs share one server and database. */
export function newAccount(label: string): Account {
  const id = `${Date.now().toString(36)}-${randomBytes(4).toString("hex")}`;
  const name = `E2E ${label} ${id.slice(-4)}`;
  const email = `${label}-${id}@e2e.test`;
  return { name, email, password: passwordApartFrom(`${name} ${email}`) };
}

/** A random password the policy accepts: it must not contain a 3+ character piece of the name or email (e.g. "e2e"). */
function passwordApartFrom(personal: string): string {
  const pieces = personal
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((piece) => piece.length >= 3);
  for (;;) {
    const password = `pw-${randomBytes(8).toString("hex")}`;
    if (!pieces.some((piece) => password.includes(piece))) return password;
  }
}

export async function register(page: Page, account: Account) {
  await page.goto("/register");
  await page.getByLabel("Name", { exact: true }).fill(account.name);
  await page.getByLabel("Email", { exact: true }).fill(account.email);
  await page.getByLabel("Password", { exact: true }).fill(account.password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/files$/);
  await expect(page.getByRole("heading", { level: 1, name: "My files" })).toBeVisible();
}

export async function login(page: Page, account: Pick<Account, "email" | "password">) {
  await page.goto("/login");
  await page.getByLabel("Email", { exact: true }).fill(account.email);
  await page.getByLabel("Password", { exact: true }).fill(account.password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/files$/);
}

/** Creates a folder in the folder shown and opens it; returns its id (from the URL). */
export async function createAndOpenFolder(page: Page, name: string): Promise<string> {
  await page.getByLabel("New folder").fill(name);
  await page.getByRole("button", { name: "Create folder" }).click();
  await expect(page.getByText(`Created folder “${name}”.`)).toBeVisible();
  // The listing's link (list or grid), not the folder tree's: the tree lists the root's folders too.
  const link = page.locator('main table, main [data-testid="folder-grid"]').getByRole("link", { name, exact: true });
  await expect(link).toBeVisible();
  await link.click();
  await expect(page.getByRole("heading", { level: 1, name })).toBeVisible();
  await expect(page).toHaveURL(/\/files\/[^/?#]+$/);
  return new URL(page.url()).pathname.split("/").pop()!;
}

/** Scratch directory for generated files; removed by the returned cleanup. */
export async function scratchDir() {
  const dir = await mkdtemp(path.join(os.tmpdir(), "coffer-e2e-files-"));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export interface TestFile {
  path: string;
  name: string;
  size: number;
  sha256: string;
}

/** Writes `size` random bytes (incompressible, so nothing along the way can shortcut them). */
export async function randomFile(dir: string, name: string, size: number): Promise<TestFile> {
  const filePath = path.join(dir, name);
  const hash = createHash("sha256");
  const handle = await open(filePath, "w");
  try {
    for (let written = 0; written < size; ) {
      const chunk = randomBytes(Math.min(4 * MiB, size - written));
      hash.update(chunk);
      await handle.write(chunk);
      written += chunk.length;
    }
  } finally {
    await handle.close();
  }
  return { path: filePath, name, size, sha256: hash.digest("hex") };
}

export async function sha256OfFile(filePath: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(filePath)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Clicks the file's download link and checks the saved bytes are exactly the original's. */
export async function expectDownloadMatches(page: Page, file: TestFile, scope = page.locator("main")) {
  const link = scope.getByRole("link", { name: file.name, exact: true });
  const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
  await expectDownloadedBytes(download, file);
}

export async function expectDownloadedBytes(download: Download, file: TestFile) {
  expect(download.suggestedFilename()).toBe(file.name);
  expect(await download.failure()).toBeNull();
  const saved = await download.path();
  expect(await sha256OfFile(saved), `SHA-256 of downloaded ${file.name}`).toBe(file.sha256);
  await download.delete();
}

/**
 * Resolves once the page's Socket.IO client is connected (its CONNECT was acknowledged, so the
 * server has put it in the user's room). Call before navigating. Socket.IO acknowledges over
 * long-polling first, or over the websocket if the upgrade won the race; both are watched.
 */
export function waitForLiveConnection(page: Page, timeout = 15_000): Promise<void> {
  const isConnectAck = (payload: string | Buffer) => /(^|\x1e)40\{/.test(payload.toString());
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Socket.IO did not connect within ${timeout} ms`));
    }, timeout);
    const onResponse = async (response: import("@playwright/test").Response) => {
      if (!response.url().includes("/socket.io/") || response.request().method() !== "GET") return;
      const body = await response.text().catch(() => "");
      if (isConnectAck(body)) done();
    };
    const onSocket = (ws: import("@playwright/test").WebSocket) => {
      if (!ws.url().includes("/socket.io/")) return;
      ws.on("framereceived", ({ payload }) => {
        if (isConnectAck(payload)) done();
      });
    };
    function done() {
      cleanup();
      resolve();
    }
    function cleanup() {
      clearTimeout(timer);
      page.off("response", onResponse);
      page.off("websocket", onSocket);
    }
    page.on("response", onResponse);
    page.on("websocket", onSocket);
  });
}

/**
 * Limits the page's upload bandwidth (Chromium DevTools network emulation) so that a large
 * upload lasts long enough to be paused or interrupted mid-way on a fast local server.
 * Returns a function that lifts the limit.
 */
export async function throttleUploads(page: Page, bytesPerSecond: number) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false,
    latency: 0,
    downloadThroughput: -1,
    uploadThroughput: bytesPerSecond,
  });
  return async () => {
    await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    await cdp.detach().catch(() => {});
  };
}

/** The percentage an upload item's progress bar shows. */
export async function progressOf(item: import("@playwright/test").Locator): Promise<number> {
  return Number(await item.getByRole("progressbar").getAttribute("aria-valuenow"));
}

/**
 * Opens the header's account menu (a <details>): the user menu on a desktop, the compact menu at
 * phone widths. Returns the open menu.
 */
export async function openUserMenu(page: Page) {
  const desktop = page.getByTestId("user-menu");
  const menu = (await desktop.isVisible()) ? desktop : page.getByTestId("compact-menu");
  if (!(await menu.evaluate((details) => (details as HTMLDetailsElement).open))) await menu.locator(":scope > summary").click();
  await expect(menu).toHaveAttribute("open", "");
  return menu;
}

/** Logs out with the button in the account menu. */
export async function logOut(page: Page) {
  const menu = await openUserMenu(page);
  await menu.getByRole("button", { name: "Log out", exact: true }).click();
  await expect(page).toHaveURL(/\/login$/);
}

/**
 * Without JavaScript the folder toolbar's "Upload" is a link to the `:target` dialog holding the
 * plain multipart form: opens it, so its "Upload" button can be clicked.
 */
export async function openUploadDialog(page: Page) {
  await page.getByRole("link", { name: "Upload", exact: true }).click();
  await expect(page.locator("#upload-dialog")).toBeVisible();
}
