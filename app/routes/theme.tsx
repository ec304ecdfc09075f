import { type ActionFunctionArgs, redirect } from "@remix-run/node";
import { z } from "zod";
import { safeRedirect } from "~/domain/accounts/sessions.server";
import { THEMES } from "~/lib/theme";
import { themeCookie } from "~/lib/theme.server";
import { field, parseForm } from "~/route-helpers/forms.server";

/**
 * Remembers the theme this browser chose (a cookie, read by the root loader so the server renders
 * the page in it) and goes back to the page the form was on. Works as a plain form; with
 * JavaScript the theme menu submits here in the background (components/theme-menu.tsx).
 */
const schema = z.object({
  theme: field.oneOf(THEMES, "Choose light, dark or system."),
  redirectTo: field.hint(2_000),
});

export async function loader() {
  // Choosing a theme is a POST; a GET just goes home.
  return redirect("/");
}

export async function action({ request, context }: ActionFunctionArgs) {
  const { theme, redirectTo } = await parseForm(request, schema);
  const headers = { "Set-Cookie": await themeCookie(context.services.config, theme) };
  // The page's script saves in the background and sends no redirectTo: it gets the theme back.
  if (redirectTo === undefined) return Response.json({ theme }, { headers });
  return redirect(safeRedirect(redirectTo, "/"), { headers });
}
