import { expectAccessible } from "../support/a11y";
import { ADMIN, BASE_URL } from "../support/env";
import { login } from "../support/helpers";
import { expect, test } from "../support/test";

/**
 * The announcement form with JavaScript: axe-clean, and a title of spaces is refused on its field
 * without a reload (the fan-out is tested in tests/event-kinds.test.ts; see no-js.spec.ts).
 */
test("the announcement form is accessible and refuses an empty title", async ({ browser }) => {
  const adminContext = await browser.newContext({ baseURL: BASE_URL });
  try {
    const admin = await adminContext.newPage();
    await login(admin, ADMIN);
    await admin.goto("/admin");
    await expectAccessible(admin, "/admin with the announcement form (JS)");
    await admin.getByLabel("Title").fill("   ");
    await admin.getByRole("button", { name: "Send to all users" }).click();
    await expect(admin.getByText("Give the announcement a title.")).toBeVisible();
    await expect(admin.getByLabel("Title")).toHaveAttribute("aria-invalid", "true");
    await expectAccessible(admin, "/admin with an announcement refused (JS)");
  } finally {
    await adminContext.close();
  }
});
