import { useRouteLoaderData } from "@remix-run/react";

/**
 * The CSRF token every POST form must carry as its FIRST field: the server reads only the start
 * of a body to check it (so uploads can stream), and refuses the request without it.
 */
export function CsrfInput() {
  const data = useRouteLoaderData<{ csrfToken?: string }>("root");
  return <input type="hidden" name="_csrf" value={data?.csrfToken ?? ""} />;
}

/** The same token for requests made by scripts (a FormData's first field, or the X-CSRF-Token header). */
export function useCsrfToken(): string {
  return useRouteLoaderData<{ csrfToken?: string }>("root")?.csrfToken ?? "";
}
