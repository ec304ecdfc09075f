import type { ActionFunctionArgs, HeadersFunction, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { SharePage, ShareErrorBoundary } from "~/components/share-view";
import { shareAction, sharePageLoader } from "~/lib/share-route.server";

export const meta: MetaFunction = () => [{ title: "Shared with you · Coffer" }, { name: "robots", content: "noindex, nofollow" }];

/** Keeps Retry-After and Cache-Control of error responses on the rendered error page. */
export const headers: HeadersFunction = ({ loaderHeaders, actionHeaders, errorHeaders }) => {
  const headers = new Headers(errorHeaders ?? actionHeaders ?? loaderHeaders);
  headers.set("Referrer-Policy", "no-referrer");
  return headers;
};

export const loader = (args: LoaderFunctionArgs) => sharePageLoader(args, null);
export const action = (args: ActionFunctionArgs) => shareAction(args);

export default SharePage;
export const ErrorBoundary = ShareErrorBoundary;
