import type { HeadersFunction, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { SsoErrorBoundary } from "~/components/sso-error";
import { finishOidcLogin } from "~/route-helpers/oidc-login.server";

export const meta: MetaFunction = () => [{ title: "Single sign-on · Coffer" }];

/** Keeps the Set-Cookie that drops the used sign-in transaction on the error page too. */
export const headers: HeadersFunction = ({ loaderHeaders, errorHeaders }) => errorHeaders ?? loaderHeaders;

export async function loader({ request, context }: LoaderFunctionArgs) {
  const signedIn = await finishOidcLogin(context.services, request, context.clientIp);
  // A new sign-in: tokens learnt before it are worth nothing (the next page is a full load).
  context.renewCsrfToken();
  return signedIn;
}

// The loader always redirects or fails; this page only ever shows the error boundary.
export default function OidcCallback() {
  return null;
}

export const ErrorBoundary = SsoErrorBoundary;
