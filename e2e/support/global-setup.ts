import { rmSync } from "node:fs";
import type { FullConfig } from "@playwright/test";
import { RAW_COVERAGE_DIR } from "./coverage";
import { ADMIN, BASE_URL } from "./env";

/**
 * Registers the admin account before any spec runs. The first account on a server becomes
 * the admin, and the server's database is fresh for every run, so this one is it; specs
 * register their own (non-admin) accounts and use this one only for admin checks.
 */
export default async function globalSetup(_config: FullConfig) {
  // This run's browser coverage only (the teardown reports it).
  rmSync(RAW_COVERAGE_DIR, { recursive: true, force: true });
  // Like a browser: load the form first for its CSRF cookie and token.
  const form = await fetch(`${BASE_URL}/register`);
  const csrfCookie =
    form.headers
      .getSetCookie()
      .find((line) => /coffer_csrf=/.test(line))
      ?.split(";")[0] ?? "";
  const token = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1] ?? "";
  const response = await fetch(`${BASE_URL}/register`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: csrfCookie },
    body: new URLSearchParams({ _csrf: token, name: ADMIN.name, email: ADMIN.email, password: ADMIN.password }),
    redirect: "manual",
  });
  const location = response.headers.get("location");
  if (response.status !== 302 || location !== "/files") {
    const body = await response.text().catch(() => "");
    throw new Error(`global setup: registering ${ADMIN.email} failed: HTTP ${response.status} location=${location}\n${body.slice(0, 500)}`);
  }
  // The account must really be the admin, or the admin tests would test nothing.
  const cookie = response.headers
    .getSetCookie()
    .find((line) => /coffer_session=/.test(line))
    ?.split(";")[0];
  const admin = await fetch(`${BASE_URL}/admin`, { headers: { Cookie: cookie ?? "" }, redirect: "manual" });
  if (admin.status !== 200) {
    throw new Error(`global setup: ${ADMIN.email} is not an admin (GET /admin answered ${admin.status}); was the database fresh?`);
  }
}
