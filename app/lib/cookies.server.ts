import { createCookie, type Cookie, type CookieOptions } from "@remix-run/node";
import type { Config } from "~/config.server";
import type { Services } from "~/services/index.server";

/** Secure in production, unless APP_URL says the site is deliberately served over plain HTTP. */
export function cookiesAreSecure(config: Config): boolean {
  return config.isProduction && !config.appUrl?.startsWith("http://");
}

const signedCookies = new WeakMap<Services, Map<string, Cookie>>();

/**
 * A short-lived, signed, HttpOnly cookie of this app (signed with the session secret, Secure
 * when the site is), created once per app instance and name.
 */
export function signedCookie(services: Services, name: string, options: Pick<CookieOptions, "path" | "maxAge" | "sameSite">): Cookie {
  let byName = signedCookies.get(services);
  if (!byName) signedCookies.set(services, (byName = new Map()));
  let cookie = byName.get(name);
  if (!cookie) {
    cookie = createCookie(name, { httpOnly: true, sameSite: "lax", secure: cookiesAreSecure(services.config), secrets: [services.sessionSecret], ...options });
    byName.set(name, cookie);
  }
  return cookie;
}
