import type { ActionFunctionArgs, HeadersFunction, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { SharePage, ShareErrorBoundary } from "~/components/share-view";
import { shareAction, sharePageLoader } from "~/lib/share-route.server";

export const meta: MetaFunction = () => [{ title: "Shared with you · Coffer" }, { name: "robots", content: "noindex, nofollow" }];

export const headers: HeadersFunction = ({ loaderHeaders, actionHeaders, errorHeaders }) => {
  const headers = new Headers(errorHeaders ?? actionHeaders ?? loaderHeaders);
  headers.set("Referrer-Policy", "no-referrer");
  return headers;
};

/** A subfolder of a shared folder: only inside the shared subtree. */
export const loader = (args: LoaderFunctionArgs) => sharePageLoader(args, args.params.folderId ?? "");
export const action = (args: ActionFunctionArgs) => shareAction(args);

export default SharePage;
export const ErrorBoundary = ShareErrorBoundary;
