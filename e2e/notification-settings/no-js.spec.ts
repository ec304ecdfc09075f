import { test, type BrowserContext, type Page } from "@playwright/test";
import { BASE_URL } from "../support/env";
import { newAccount, register } from "../support/helpers";
import { refuseUnknownZone, saveChoices, unsubscribeAsksFirst } from "./steps";

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
  await saveChoices(page);
});

test("an unknown time zone is refused, naming the field", async () => {
  await refuseUnknownZone(page);
});

test("an unsubscribe link asks first, then turns that kind off", async () => {
  await unsubscribeAsksFirst(page);
});
