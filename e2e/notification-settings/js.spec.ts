import type { BrowserContext, Page } from "@playwright/test";
import { expect, test } from "../support/test";
import { BASE_URL } from "../support/env";
import { newAccount, openUserMenu, register } from "../support/helpers";
import { myUserId, unsubscribePath } from "./steps";

/**
 * Notification settings with JavaScript: the same form, submitted by Remix, reached from the
 * account menu; an email's unsubscribe link asks first, then turns the kind off.
 */
test.describe.configure({ mode: "serial" });

const account = newAccount("notify-prefs-js");
let context: BrowserContext;
let page: Page;

test.beforeAll(async ({ browser }) => {
  context = await browser.newContext({ baseURL: BASE_URL, javaScriptEnabled: true });
  page = await context.newPage();
  await register(page, account);
});

test.afterAll(async () => {
  await context?.close();
});

test("choices per kind are saved from the page the account menu links to", async () => {
  await page.goto("/files");
  await (await openUserMenu(page)).getByRole("link", { name: "Notification settings" }).click();
  await expect(page).toHaveURL(/\/settings\/notifications$/);
  await expect(page.getByRole("heading", { level: 1, name: "Notifications" })).toBeVisible();
  const shares = page.getByRole("group", { name: "Someone shares a file or folder with me" });
  await expect(shares.getByRole("radio", { name: /In the app \(default\)/ })).toBeChecked();
  await shares.getByRole("radio", { name: "In the app and in a daily email" }).check();
  await page.getByRole("group", { name: "A file arrives through my file-drop link" }).getByRole("radio", { name: "Off" }).check();
  await page.getByLabel("Language").selectOption("de-DE");
  await page.getByLabel("Time zone").fill("Europe/Berlin");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Your notification settings were saved." })).toBeVisible();
  await page.reload();
  await expect(shares.getByRole("radio", { name: "In the app and in a daily email" })).toBeChecked();
  await expect(
    page.getByRole("group", { name: "A file arrives through my file-drop link" }).getByRole("radio", { name: "Off" }),
  ).toBeChecked();
  await expect(page.getByLabel("Language")).toHaveValue("de-DE");
  await expect(page.getByLabel("Time zone")).toHaveValue("Europe/Berlin");
});

test("an unknown time zone is refused, naming the field", async () => {
  await page.goto("/settings/notifications");
  await page.getByLabel("Time zone").fill("Mars/Olympus");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByText("Not a time zone this server knows")).toBeVisible();
  await expect(page.getByLabel("Time zone")).toHaveValue("Mars/Olympus");
});

test("an unsubscribe link asks first, then turns that kind off", async () => {
  const path = unsubscribePath(await myUserId(page), "share.granted");
  await page.goto(path);
  await expect(page.getByText("Stop notifications about: Someone shares a file or folder with me?")).toBeVisible();
  await page.goto("/settings/notifications");
  const shares = page.getByRole("group", { name: "Someone shares a file or folder with me" });
  await expect(shares.getByRole("radio", { name: "In the app and in a daily email" })).toBeChecked();
  await page.goto(path);
  await page.getByRole("button", { name: "Unsubscribe" }).click();
  await expect(page.getByText(/is now off/)).toBeVisible();
  await page.goto("/settings/notifications");
  await expect(shares.getByRole("radio", { name: "Off" })).toBeChecked();
});
