import { expect, test } from "../support/test";
import { expectAccessible } from "../support/a11y";
import { BASE_URL } from "../support/env";
import { createAndOpenFolder, newAccount, register, waitForLiveConnection } from "../support/helpers";
import { shareFolderWith } from "./steps";

/**
 * The notification centre with JavaScript: a share appears on the open page without a reload
 * (Socket.IO, once the dispatcher delivered it), "Mark read" submits without a reload, and the
 * page is axe-clean.
 */
test("a share appears live, is marked read, and the page stays accessible", async ({ browser }) => {
  // Two registrations, a share and an axe run: more than the default minute on a busy machine.
  test.slow();
  const owner = newAccount("notify-js-owner");
  const reader = newAccount("notify-js-reader");
  const ownerContext = await browser.newContext({ baseURL: BASE_URL });
  const readerContext = await browser.newContext({ baseURL: BASE_URL });
  try {
    const readerPage = await readerContext.newPage();
    await register(readerPage, reader);
    const connected = waitForLiveConnection(readerPage);
    await readerPage.goto("/notifications");
    await connected;
    await expect(readerPage.getByText("No notifications yet.")).toBeVisible();

    const ownerPage = await ownerContext.newPage();
    await register(ownerPage, owner);
    const folder = await createAndOpenFolder(ownerPage, "Shared plans");
    await shareFolderWith(ownerPage, folder, reader.email);

    // No reload: the live event refreshes the list (the dispatcher's minute schedule bounds the wait).
    const items = readerPage.locator('[data-testid="notifications"] li');
    await expect(items).toHaveCount(1, { timeout: 65_000 });
    await expect(items.first()).toContainText(`${owner.name} shared an item with you`);
    // The header's bell counts it too, refreshed with the page.
    await expect(readerPage.getByTestId("notification-bell")).toHaveAccessibleName("Notifications, 1 unread");
    await expectAccessible(readerPage, "/notifications (one unread)");
    await items.first().getByRole("button", { name: "Mark read" }).click();
    await expect(readerPage.getByTestId("unread-count")).toHaveText("Nothing unread.");
    await expect(readerPage.getByTestId("notification-bell")).toHaveAccessibleName("Notifications");
    await expect(readerPage.getByRole("button", { name: "Mark all read" })).toHaveCount(0);
    await items.first().getByRole("link", { name: "Open the item" }).click();
    await expect(readerPage).toHaveURL(new RegExp(`/details/folder/${folder}$`));
  } finally {
    await ownerContext.close();
    await readerContext.close();
  }
});
