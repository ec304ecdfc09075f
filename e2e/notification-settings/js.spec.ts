import type { BrowserContext, Page } from "@playwright/test";
import { expect, test } from "../support/test";
import { BASE_URL } from "../support/env";
import { newAccount, openUserMenu, register } from "../support/helpers";
import { refuseUnknownZone, saveChoices, unsubscribeAsksFirst } from "./steps";

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
  await saveChoices(page);
});

test("an unknown time zone is refused, naming the field", async () => {
  await refuseUnknownZone(page);
});

test("an unsubscribe link asks first, then turns that kind off", async () => {
  await unsubscribeAsksFirst(page);
});
