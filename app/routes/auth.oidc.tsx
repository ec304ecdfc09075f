import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { SsoErrorBoundary } from "~/components/sso-error";
import { startOidcLogin } from "~/route-helpers/oidc-login.server";

export const meta: MetaFunction = () => [{ title: "Single sign-on · Coffer" }];

export const loader = ({ request, context }: LoaderFunctionArgs) => startOidcLogin(context.services, request, context.clientIp);

// The loader always redirects or fails; this page only ever shows the error boundary.
export default function OidcStart() {
  return null;
}

export const ErrorBoundary = SsoErrorBoundary;
