import { createHmac } from "node:crypto";
import { expect, type Page } from "@playwright/test";

/** The e2e server's SESSION_SECRET (e2e/support/start-server.sh): the tests sign unsubscribe links with it. */
const E2E_SESSION_SECRET = "e2e-session-secret-0123456789abcdef-not-for-production";

/** The signed-in account's id, from the API (the session holds every scope). */
export async function myUserId(page: Page): Promise<string> {
  const response = await page.request.get("/api/v1/me");
  return ((await response.json()) as { id: string }).id;
}

/**
 * The unsubscribe link a notification email of `kind` carries (app/domain/events/unsubscribe.server.ts):
 * `<userId>-<kind as hex>-<base64url HMAC-SHA256 of "unsubscribe:<userId>:<kind>">`.
 */
export function unsubscribePath(userId: string, kind: string): string {
  const mac = createHmac("sha256", E2E_SESSION_SECRET).update(`unsubscribe:${userId}:${kind}`).digest("base64url");
  return `/unsubscribe/${userId}-${Buffer.from(kind).toString("hex")}-${mac}`;
}

/** On /settings/notifications: two kinds, the language and the zone saved, and kept on reload. */
export async function saveChoices(page: Page): Promise<void> {
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
}

/** An unknown time zone is refused, naming the field and keeping what was typed. */
export async function refuseUnknownZone(page: Page): Promise<void> {
  await page.goto("/settings/notifications");
  await page.getByLabel("Time zone").fill("Mars/Olympus");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByText("Not a time zone this server knows")).toBeVisible();
  await expect(page.getByLabel("Time zone")).toHaveValue("Mars/Olympus");
}

/** An unsubscribe link asks first, then turns that kind off (after saveChoices). */
export async function unsubscribeAsksFirst(page: Page): Promise<void> {
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
}
