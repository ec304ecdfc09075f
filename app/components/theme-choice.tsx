import { buttonClass } from "~/components/ui/button";
import { useFetcher, useLocation, useRouteLoaderData } from "@remix-run/react";
import type { FormEvent } from "react";
import { THEME_LABELS, THEMES, type Theme, themeSchema } from "~/lib/theme";
import { CsrfInput } from "./csrf-input";

/** The one fetcher that saves a theme, shared by every theme form and by the <html> element. */
const FETCHER_KEY = "theme";

/** The theme to render: the one being saved, else the one the root loader read from the cookie. */
export function useTheme(): Theme {
  const saving = useFetcher({ key: FETCHER_KEY }).formData?.get("theme");
  const saved = useRouteLoaderData<{ theme?: Theme }>("root")?.theme;
  return themeSchema.safeParse(saving).data ?? saved ?? "system";
}

/**
 * Light, dark or system: a plain form POST to /theme that comes back to this page (no
 * JavaScript needed). With JavaScript it saves in the background and the page changes at once.
 */
export function ThemeChoice() {
  const current = useTheme();
  const fetcher = useFetcher({ key: FETCHER_KEY });
  const location = useLocation();
  const submit = (event: FormEvent<HTMLFormElement>) => {
    const submitter = (event.nativeEvent as SubmitEvent).submitter;
    if (!(submitter instanceof HTMLButtonElement)) return;
    event.preventDefault();
    const form = new FormData(event.currentTarget, submitter);
    // No redirectTo: the route answers with data instead of sending the page elsewhere.
    form.delete("redirectTo");
    fetcher.submit(form, { method: "post", action: "/theme" });
  };
  return (
    <form method="post" action="/theme" onSubmit={submit} className="px-3 py-2">
      <CsrfInput />
      <input type="hidden" name="redirectTo" value={`${location.pathname}${location.search}`} />
      <fieldset>
        <legend className="mb-1 text-xs font-semibold uppercase tracking-wide text-text-muted">Theme</legend>
        <div className="flex gap-1">
          {THEMES.map((theme) => (
            <button
              key={theme}
              type="submit"
              name="theme"
              value={theme}
              aria-pressed={theme === current}
              className={buttonClass(theme === current ? "primary" : "secondary", "sm", "flex-1")}
            >
              {THEME_LABELS[theme]}
            </button>
          ))}
        </div>
      </fieldset>
    </form>
  );
}
