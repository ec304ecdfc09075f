import type { HeadersFunction, LinksFunction, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import {
  Form,
  isRouteErrorResponse,
  Link,
  Links,
  Meta,
  NavLink,
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
import { CsrfInput } from "~/components/csrf-input";
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
    user: user ? { id: user.id, name: user.name, email: user.email, role: user.role } : null,
    csrfToken: context.csrfToken,
    // In SSO-only mode accounts come from the provider: no registration link.
    canRegister: !context.services.config.oidc?.ssoOnly,
  };
}

export function Layout({ children }: { children: ReactNode }) {
  const data = useRouteLoaderData<typeof loader>("root");
  const user = data?.user ?? null;
  const nonce = useNonce();
  return (
    // The inline script marks <html> before the body is parsed (hence suppressHydrationWarning), so
    // text meant for browsers without JavaScript never flashes while scripts are still loading.
    <html lang="en" className="h-full" suppressHydrationWarning>
      <head>
        <meta charSet="utf-8" />
        <script nonce={nonce}>{"document.documentElement.dataset.js = 1"}</script>
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <Meta />
        <Links />
      </head>
      <body className="flex min-h-full flex-col bg-slate-50 text-slate-900 antialiased">
        <a
          href="#main"
          className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-white focus:p-2"
        >
          Skip to content
        </a>
        <header className="border-b border-slate-200 bg-white">
          <div className="mx-auto flex max-w-6xl flex-wrap items-center gap-x-6 gap-y-2 px-4 py-3">
            <Link to={user ? "/files" : "/"} className="flex items-center gap-2 text-lg font-semibold text-slate-900">
              <CofferMark />
              Coffer
            </Link>
            {user ? (
              <>
                <nav aria-label="Main" className="flex gap-4 text-sm">
                  <NavLink to="/files" className={navClass}>
                    Files
                  </NavLink>
                  <NavLink to="/shared" className={navClass}>
                    Shared with me
                  </NavLink>
                  <NavLink to="/shares" className={navClass}>
                    My links
                  </NavLink>
                  <NavLink to="/trash" className={navClass}>
                    Trash
                  </NavLink>
                  <NavLink to="/activity" className={navClass}>
                    Activity
                  </NavLink>
                  {user.role === "ADMIN" ? (
                    <NavLink to="/admin" className={navClass}>
                      Admin
                    </NavLink>
                  ) : null}
                </nav>
                <Form
                  method="get"
                  action="/search"
                  role="search"
                  className="order-last flex w-full gap-2 sm:order-none sm:ml-auto sm:w-auto"
                >
                  <label htmlFor="site-search" className="sr-only">
                    Search files
                  </label>
                  <input id="site-search" name="q" type="search" placeholder="Search files" className="input sm:w-64" />
                  <button type="submit" className="btn-secondary">
                    Search
                  </button>
                </Form>
                <div className="flex items-center gap-3 text-sm sm:ml-0">
                  <span className="text-slate-700" title={user.email}>
                    {user.name}
                  </span>
                  <NavLink to="/settings/security" className={navClass}>
                    Security
                  </NavLink>
                  <NavLink to="/settings/privacy" className={navClass}>
                    Privacy
                  </NavLink>
                  <NavLink to="/settings/tokens" className={navClass}>
                    Tokens
                  </NavLink>
                  <Form method="post" action="/logout">
                    <CsrfInput />
                    <button type="submit" className="btn-secondary">
                      Log out
                    </button>
                  </Form>
                </div>
              </>
            ) : (
              <nav aria-label="Account" className="ml-auto flex gap-3 text-sm">
                <NavLink to="/login" className={navClass}>
                  Log in
                </NavLink>
                {data?.canRegister ? (
                  <NavLink to="/register" className={navClass}>
                    Create account
                  </NavLink>
                ) : null}
              </nav>
            )}
          </div>
        </header>
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

function navClass({ isActive }: { isActive: boolean }) {
  return isActive ? "font-semibold text-blue-800 underline underline-offset-4" : "text-slate-700 hover:text-slate-900";
}

function CofferMark() {
  return (
    <svg aria-hidden="true" width="24" height="24" viewBox="0 0 24 24" fill="none">
      <rect x="3" y="6" width="18" height="14" rx="2" className="fill-blue-700" />
      <rect x="3" y="4" width="18" height="5" rx="1.5" className="fill-blue-900" />
      <rect x="10" y="11" width="4" height="3" rx="0.5" className="fill-white" />
    </svg>
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
      <p className="mt-2 text-slate-700">{message}</p>
      <p className="mt-4">
        <Link to="/files" className="text-blue-800 underline">
          Go to my files
        </Link>
      </p>
    </div>
  );
}
