import { randomUUID } from "node:crypto";

export interface BenchAccount {
  /** Cookie header value: the session and the CSRF cookie. */
  cookie: string;
  /** Sent as X-CSRF-Token with every POST to the app's pages (tus needs none). */
  csrfToken: string;
}

/** Registers a fresh user the way a browser does: the form first (CSRF cookie and token), then the post. */
export async function registerBenchUser(url: string, label: string): Promise<BenchAccount> {
  const form = await fetch(`${url}/register`);
  const csrfCookie = form.headers
    .getSetCookie()
    .map((line) => line.split(";")[0]!)
    .find((pair) => /coffer_csrf=/.test(pair));
  const csrfToken = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1];
  if (!csrfCookie || !csrfToken) throw new Error(`the register page gave no CSRF cookie or token (${form.status})`);
  const response = await fetch(`${url}/register`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: csrfCookie },
    // A password the policy accepts: long, not common, without the name or the email.
    body: new URLSearchParams({
      _csrf: csrfToken,
      name: `Load ${label}`,
      email: `${label}-${randomUUID().slice(0, 8)}@example.com`,
      password: "violet-harbour-lantern-8841",
    }),
    redirect: "manual",
  });
  const session = response.headers
    .getSetCookie()
    .map((line) => line.split(";")[0]!)
    .find((pair) => /coffer_session=/.test(pair));
  if (response.status !== 302 || !session)
    throw new Error(`registration failed: ${response.status} ${(await response.text()).slice(0, 500)}`);
  return { cookie: `${session}; ${csrfCookie}`, csrfToken };
}
