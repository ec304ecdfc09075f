import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { SsoErrorBoundary } from "~/components/sso-error";
import { startOidcReauth } from "~/route-helpers/oidc-login.server";

export const meta: MetaFunction = () => [{ title: "Confirm it's you · Coffer" }];

export const loader = ({ request, context }: LoaderFunctionArgs) => startOidcReauth(context.services, request, context.clientIp);

// The loader always redirects or fails; this page only ever shows the error boundary.
export default function OidcReauth() {
  return null;
}

export const ErrorBoundary = SsoErrorBoundary;
