import type { HeadersFunction, LinksFunction, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import {
  isRouteErrorResponse,
  Link,
  Links,
  Meta,
  Outlet,
  Scripts,
  ScrollRestoration,
  useLoaderData,
  useRouteError,
  useRouteLoaderData,
} from "@remix-run/react";
import type { ReactNode } from "react";
import { getUser } from "~/domain/accounts/sessions.server";
import { LiveUpdates } from "~/components/live-updates";
import { useNonce } from "~/lib/nonce";
import stylesheet from "~/tailwind.css?url";
import { AppHeader, UNREAD_SHOWN_UP_TO } from "~/components/app-header";
import { unreadNotifications } from "~/domain/events/notifications.server";
import { useTheme } from "~/components/theme-choice";
import { themeAttribute } from "~/lib/theme";
import { readTheme } from "~/lib/theme.server";
import { DisclosureEscape } from "~/components/disclosure-escape";
import { IndexParamCleanup } from "~/components/index-param-cleanup";

export const links: LinksFunction = () => [
  { rel: "stylesheet", href: stylesheet },
  { rel: "icon", href: "/favicon.svg", type: "image/svg+xml" },
];

export const meta: MetaFunction = () => [{ title: "Coffer" }];

/**
 * Keeps the Retry-After of an error this boundary renders (a 503 while a service is down, see
 * server/route-boundary.server.ts): Remix passes a thrown response's headers only to `headers`.
 */
export const headers: HeadersFunction = ({ errorHeaders }) => {
  const headers = new Headers();
  const retryAfter = errorHeaders?.get("Retry-After");
  if (retryAfter) headers.set("Retry-After", retryAfter);
  return headers;
};

export async function loader({ request, context }: LoaderFunctionArgs) {
  const user = await getUser(context.services, request);
  return {
    user: user
      ? {
          id: user.id,
          name: user.name,
          email: user.email,
          role: user.role,
          // A count the database cannot give now (an outage) must not take every page's header with it.
          unread: await unreadNotifications(context.services, user.id, UNREAD_SHOWN_UP_TO).catch(() => 0),
        }
      : null,
    csrfToken: context.csrfToken,
    // In SSO-only mode accounts come from the provider: no registration link.
    canRegister: !context.services.config.oidc?.ssoOnly,
    // Rendered on <html>, so the page arrives in its theme with no flash.
    theme: await readTheme(context.services.config, request),
  };
}

export function Layout({ children }: { children: ReactNode }) {
  const data = useRouteLoaderData<typeof loader>("root");
  const user = data?.user ?? null;
  const nonce = useNonce();
  const theme = useTheme();
  return (
    // The inline script marks <html> before the body is parsed (hence suppressHydrationWarning), so
    // text meant for browsers without JavaScript never flashes while scripts are still loading.
    <html lang="en" className="h-full" data-theme={themeAttribute(theme)} suppressHydrationWarning>
      <head>
        <meta charSet="utf-8" />
        <script nonce={nonce}>{"document.documentElement.dataset.js = 1"}</script>
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <Meta />
        <Links />
      </head>
      <body className="flex min-h-full flex-col bg-surface text-text antialiased">
        <a
          href="#main"
          className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-surface-raised focus:p-2"
        >
          Skip to content
        </a>
        <AppHeader user={user} canRegister={Boolean(data?.canRegister)} />
        {/* tabIndex -1: the skip link moves the focus itself here, not only the reading position. */}
        <main id="main" tabIndex={-1} className="mx-auto w-full max-w-6xl flex-1 px-4 py-6 focus:outline-none">
          {children}
        </main>
        {user ? <LiveUpdates /> : null}
        <DisclosureEscape />
        <ScrollRestoration nonce={nonce} />
        <Scripts nonce={nonce} />
      </body>
    </html>
  );
}

export default function App() {
  useLoaderData<typeof loader>();
  return (
    <>
      <IndexParamCleanup />
      <Outlet />
    </>
  );
}

export function ErrorBoundary() {
  const error = useRouteError();
  let title = "Something went wrong";
  let message = "An unexpected error happened on our side. Nothing you did caused it; please try again.";
  if (isRouteErrorResponse(error)) {
    const detail = typeof error.data === "string" ? error.data : (error.data as { message?: string } | null)?.message;
    if (error.status === 404) {
      title = "Not found";
      message = detail ?? "This page does not exist. It may have been moved or deleted.";
    } else if (error.status === 403) {
      title = "Access denied";
      message = detail ?? "You do not have permission to open this page.";
    } else if (error.status === 503) {
      title = "Temporarily unavailable";
      message = detail ?? "Coffer cannot reach one of its services right now. Nothing was lost; please try again in a moment.";
    } else if (error.status < 500) {
      title = `Request failed (${error.status})`;
      message = detail ?? message;
    }
  }
  return (
    <div className="card mx-auto max-w-lg p-6" role="alert">
      <h1 className="text-xl font-semibold">{title}</h1>
      <p className="mt-2 text-text-muted">{message}</p>
      <p className="mt-4">
        <Link to="/files" className="link">
          Go to my files
        </Link>
      </p>
    </div>
  );
}
