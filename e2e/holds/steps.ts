import type { Page } from "@playwright/test";
import { expectAccessible } from "../support/a11y";
import { expect } from "../support/test";

/**
 * The steps of /admin/holds shared by the JS and no-JS specs: place a hold on a user, see it
 * listed, release it with a reason, see it among the released ones; axe on each state (the JS
 * spec: the pages are the same server-rendered HTML either way).
 */
export async function placeAndReleaseUserHold(admin: Page, email: string, mode: string, axe = true) {
  const checkAccessible = async (label: string) => {
    if (axe) await expectAccessible(admin, label);
  };
  const reason = `Case ${Date.now().toString(36)}`;
  await admin.goto("/admin/holds");
  await expect(admin.getByRole("heading", { level: 1, name: "Legal holds" })).toBeVisible();
  await checkAccessible(`/admin/holds (${mode})`);
  await admin.getByLabel("Hold", { exact: true }).selectOption("user");
  await admin.getByLabel("The user's email").fill(email);
  await admin.getByLabel("Reason", { exact: true }).fill(reason);
  await admin.getByRole("button", { name: "Place hold" }).click();
  await expect(admin.getByRole("status").filter({ hasText: "The legal hold was placed." })).toBeVisible();
  const row = admin.getByTestId("active-hold").filter({ hasText: reason });
  await expect(row).toContainText(`Everything of ${email}`);
  await checkAccessible(`/admin/holds with a hold (${mode})`);
  await row.getByLabel(/^Why release the hold on/).fill("Case closed");
  await row.getByRole("button", { name: "Release" }).click();
  await expect(admin.getByRole("status").filter({ hasText: "The legal hold was released." })).toBeVisible();
  await expect(admin.getByTestId("active-hold").filter({ hasText: reason })).toHaveCount(0);
  await expect(admin.getByTestId("released-hold").filter({ hasText: reason })).toContainText("Case closed");
  await checkAccessible(`/admin/holds released (${mode})`);
}

/** A reason of spaces passes the browser's checks; the server refuses it on its field. */
export async function refuseBlankReason(admin: Page, email: string) {
  await admin.goto("/admin/holds");
  await admin.getByLabel("The user's email").fill(email);
  await admin.getByLabel("Reason", { exact: true }).fill("     ");
  await admin.getByRole("button", { name: "Place hold" }).click();
  await expect(admin.getByText("Give a reason (at least 3 characters).")).toBeVisible();
  await expect(admin.getByLabel("Reason", { exact: true })).toHaveAttribute("aria-invalid", "true");
}

/**
 * A retention rule on the user's My files added and removed with plain forms (delete after 100
 * years, so it deletes nothing meanwhile); axe on the page with the rule listed.
 */
export async function addAndRemoveRule(admin: Page, email: string, mode: string, axe = true) {
  const reason = `Rule ${Date.now().toString(36)}`;
  await admin.goto("/admin/holds");
  await admin.getByLabel("The folder owner's email").fill(email);
  await admin.getByLabel("Or its path", { exact: true }).fill("/");
  await admin.getByLabel("Rule", { exact: true }).selectOption("delete_after");
  await admin.getByLabel("Days").fill("36600");
  await admin.getByLabel("Reason for the rule").fill(reason);
  await admin.getByRole("button", { name: "Add rule" }).click();
  await expect(admin.getByRole("status").filter({ hasText: "The retention rule was added." })).toBeVisible();
  const row = admin.getByTestId("active-rule").filter({ hasText: reason });
  await expect(row).toContainText("Delete after");
  if (axe) await expectAccessible(admin, `/admin/holds with a retention rule (${mode})`);
  await row.getByLabel(/^Why remove the rule on/).fill("Not needed");
  await row.getByRole("button", { name: "Remove" }).click();
  await expect(admin.getByRole("status").filter({ hasText: "The retention rule was removed." })).toBeVisible();
  await expect(admin.getByTestId("removed-rule").filter({ hasText: reason })).toContainText("Not needed");
}
