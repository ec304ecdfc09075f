import { expect, test, type BrowserContext, type Page } from "@playwright/test";
import { BASE_URL } from "../support/env";
import { createAndOpenFolder, newAccount, register } from "../support/helpers";
import { shareFolderWith, waitForNotification } from "./steps";

/**
 * The notification centre without JavaScript: a folder shared with someone reaches their
 * /notifications through the outbox, with a link to it; "Mark read" and "Mark all read" are plain
 * forms. (In e2e/notifications/ so the no-js project's file pattern picks it up.)
 */
test.describe.configure({ mode: "serial" });

const owner = newAccount("notify-owner");
const reader = newAccount("notify-reader");
let ownerContext: BrowserContext;
let readerContext: BrowserContext;
let readerPage: Page;

test.beforeAll(async ({ browser }) => {
  ownerContext = await browser.newContext({ baseURL: BASE_URL, javaScriptEnabled: false });
  readerContext = await browser.newContext({ baseURL: BASE_URL, javaScriptEnabled: false });
  readerPage = await readerContext.newPage();
});

test.afterAll(async () => {
  await ownerContext?.close();
  await readerContext?.close();
});

test("an empty list says what will appear there", async () => {
  await register(readerPage, reader);
  await readerPage.goto("/notifications");
  await expect(readerPage.getByRole("heading", { level: 1, name: "Notifications" })).toBeVisible();
  await expect(readerPage.getByText("No notifications yet.")).toBeVisible();
  await expect(readerPage.getByText(/When someone shares a file or folder with you/)).toBeVisible();
});

test("two shares arrive, one is marked read, then all", async () => {
  const ownerPage = await ownerContext.newPage();
  await register(ownerPage, owner);
  const first = await createAndOpenFolder(ownerPage, "Plans");
  await shareFolderWith(ownerPage, first, reader.email);
  await ownerPage.goto("/files");
  const second = await createAndOpenFolder(ownerPage, "Budgets");
  await shareFolderWith(ownerPage, second, reader.email);

  const items = await waitForNotification(readerPage, 2);
  await expect(readerPage.getByTestId("unread-count")).toHaveText("2 unread.");
  await expect(readerPage.getByTestId("notification-bell")).toHaveAccessibleName("Notifications, 2 unread");
  await expect(readerPage.getByTestId("notification-bell")).toContainText("2");
  await expect(items.first()).toContainText(`${owner.name} shared an item with you`);
  await expect(items.first().getByRole("link", { name: "Open the item" })).toHaveAttribute("href", `/details/folder/${second}`);

  await items.first().getByRole("button", { name: "Mark read" }).click();
  await expect(readerPage.getByRole("status").filter({ hasText: "Marked as read." })).toBeVisible();
  await expect(readerPage.getByTestId("unread-count")).toHaveText("1 unread.");
  await expect(readerPage.locator('[data-testid="notifications"] li[data-read="true"]')).toHaveCount(1);

  await readerPage.getByRole("button", { name: "Mark all read" }).click();
  await expect(readerPage.getByRole("status").filter({ hasText: "Marked 1 notification as read." })).toBeVisible();
  await expect(readerPage.getByTestId("unread-count")).toHaveText("Nothing unread.");
  await expect(readerPage.getByTestId("notification-bell")).toHaveAccessibleName("Notifications");
  await expect(readerPage.getByRole("button", { name: "Mark read" })).toHaveCount(0);
});
