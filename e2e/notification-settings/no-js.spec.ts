import { expect, test, type BrowserContext, type Page } from "@playwright/test";
import { BASE_URL } from "../support/env";
import { newAccount, register } from "../support/helpers";
import { myUserId, unsubscribePath } from "./steps";

/**
 * Notification settings without JavaScript: a plain form with one radio group per kind, saved by
 * a form post; an email's unsubscribe link shows a confirmation and turns the kind off only when
 * its button is pressed.
 */
test.describe.configure({ mode: "serial" });

const account = newAccount("notify-prefs-nojs");
let context: BrowserContext;
let page: Page;

test.beforeAll(async ({ browser }) => {
  context = await browser.newContext({ baseURL: BASE_URL, javaScriptEnabled: false });
  page = await context.newPage();
  await register(page, account);
});

test.afterAll(async () => {
  await context?.close();
});

test("choices per kind are saved by a plain form post", async () => {
  await page.goto("/settings/notifications");
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
