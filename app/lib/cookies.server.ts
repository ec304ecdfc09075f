import { createCookie, type Cookie, type CookieOptions } from "@remix-run/node";
import type { Config } from "~/config.server";
import type { Services } from "~/services/index.server";

/** Secure in production, unless APP_URL says the site is deliberately served over plain HTTP. */
export function cookiesAreSecure(config: Config): boolean {
  return config.isProduction && !config.appUrl?.startsWith("http://");
}

/**
 * A signed cookie as the domain sees it: the value read from a Cookie header (undefined or
 * null when absent or forged; callers validate it), and the Set-Cookie header for a value.
 * Remix's cookies do the signing; the domain never imports the web framework itself.
 */
export interface SignedCookie {
  parse(cookieHeader: string | null): Promise<unknown>;
  serialize(value: unknown, options?: { maxAge?: number }): Promise<string>;
}

/** A cookie of this app signed with `options.secrets`. */
export function appCookie(name: string, options: CookieOptions): SignedCookie {
  return createCookie(name, options);
}

const signedCookies = new WeakMap<Services, Map<string, Cookie>>();

/**
 * A short-lived, signed, HttpOnly cookie of this app (signed with the session secret, Secure
 * when the site is), created once per app instance and name.
 */
export function signedCookie(services: Services, name: string, options: Pick<CookieOptions, "path" | "maxAge" | "sameSite">): SignedCookie {
  let byName = signedCookies.get(services);
  if (!byName) signedCookies.set(services, (byName = new Map()));
  let cookie = byName.get(name);
  if (!cookie) {
    cookie = createCookie(name, {
      httpOnly: true,
      sameSite: "lax",
      secure: cookiesAreSecure(services.config),
      secrets: [services.sessionSecret],
      ...options,
    });
    byName.set(name, cookie);
  }
  return cookie;
}
