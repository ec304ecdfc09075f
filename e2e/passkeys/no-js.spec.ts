import { expect, test } from "@playwright/test";
import { newAccount, register } from "../support/helpers";

test("without JavaScript the pages explain that passkeys need it, and everything else works", async ({ page }) => {
  await page.goto("/login");
  await expect(page.getByText("Logging in with a passkey needs JavaScript.")).toBeVisible();
  // No passkey autofill without the script that would answer it.
  await expect(page.getByLabel("Email", { exact: true })).toHaveAttribute("autocomplete", "username");
  await expect(page.getByRole("button", { name: "Log in" })).toBeVisible();

  await register(page, newAccount("passkey-nojs"));
  await page.goto("/settings/security");
  await expect(page.getByRole("heading", { name: "Passkeys" })).toBeVisible();
  await expect(page.getByText("Adding a passkey needs JavaScript")).toBeVisible();
});
