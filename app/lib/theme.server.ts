import { createCookie } from "@remix-run/node";
import type { Config } from "~/config.server";
import { cookiesAreSecure } from "./cookies.server";
import { type Theme, themeSchema } from "./theme";

/** A year: a theme is a lasting preference of this browser, not of the account. */
const MAX_AGE = 365 * 24 * 60 * 60;
const NAME = "coffer_theme";

/** Unsigned: the value is one of three words, checked with zod on every read. */
function cookie(config: Config) {
  return createCookie(NAME, { path: "/", sameSite: "lax", httpOnly: true, maxAge: MAX_AGE, secure: cookiesAreSecure(config) });
}

/** The theme this browser chose; "system" when it chose none or the cookie holds anything else. */
export async function readTheme(config: Config, request: Request): Promise<Theme> {
  const value = await cookie(config)
    .parse(request.headers.get("Cookie"))
    .catch(() => null);
  const parsed = themeSchema.safeParse(value);
  return parsed.success ? parsed.data : "system";
}

export function themeCookie(config: Config, theme: Theme): Promise<string> {
  return cookie(config).serialize(theme);
}
