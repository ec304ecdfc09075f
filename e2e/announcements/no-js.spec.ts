import { expect, test } from "@playwright/test";
import { ADMIN, BASE_URL } from "../support/env";
import { login } from "../support/helpers";

/**
 * The announcement form of /admin with plain forms only (JavaScript disabled): a blank title is
 * refused on its field, and what was typed is kept (axe runs on the same states in js.spec.ts). A sent announcement
 * reaches every account, which would change the notification counts the other specs on this
 * server assert, so the fan-out itself is tested in tests/event-kinds.test.ts.
 */
test("the announcement form refuses a blank title on its field", async ({ browser }) => {
  const adminContext = await browser.newContext({ baseURL: BASE_URL, javaScriptEnabled: false });
  try {
    const admin = await adminContext.newPage();
    await login(admin, ADMIN);
    await admin.goto("/admin");
    const form = admin.getByRole("form", { name: "Announcement" });
    // Spaces pass the browser's `required`; the server refuses them.
    await form.getByLabel("Title").fill("   ");
    await form.getByLabel("Message (optional)").fill("Without a title");
    await form.getByRole("button", { name: "Send to all users" }).click();
    await expect(admin.getByText("Give the announcement a title.")).toBeVisible();
    await expect(admin.getByLabel("Title")).toHaveAttribute("aria-invalid", "true");
    await expect(admin.getByLabel("Message (optional)")).toHaveValue("Without a title");
  } finally {
    await adminContext.close();
  }
});
