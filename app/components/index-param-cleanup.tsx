import { useLocation } from "@remix-run/react";
import { useEffect } from "react";

/**
 * A form on an index route (/files, /admin) posts to "?index" so Remix picks that route's action,
 * and after the action the address bar kept "/files?index". This takes the marker off the shown
 * address, keeping the history entry's state; the router's own location keeps it until the next
 * navigation, where it does no harm. Without JavaScript the browser shows the form's URL as usual.
 */
export function IndexParamCleanup() {
  const location = useLocation();
  // biome-ignore lint/correctness/useExhaustiveDependencies: `location` only triggers a run after each navigation.
  useEffect(() => {
    const url = new URL(window.location.href);
    if (!url.searchParams.has("index")) return;
    url.searchParams.delete("index");
    window.history.replaceState(window.history.state, "", `${url.pathname}${url.search}${url.hash}`);
  }, [location]);
  return null;
}
