import type { ActionFunctionArgs, HeadersFunction, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { SharePage, ShareErrorBoundary } from "~/components/share-view";
import { shareAction, sharePageLoader } from "~/route-helpers/share-route.server";

export const meta: MetaFunction = () => [{ title: "Shared with you · Coffer" }, { name: "robots", content: "noindex, nofollow" }];

export const headers: HeadersFunction = ({ loaderHeaders, actionHeaders, errorHeaders }) => {
  // Not Referrer-Policy: no-referrer: browsers would then send "Origin: null" with the password and
  // drop forms, which Remix refuses as cross-site. The app-wide same-origin policy keeps tokens in.
  const headers = new Headers(errorHeaders ?? actionHeaders ?? loaderHeaders);
  // A revoked or changed link must take effect at once: nothing keeps a copy.
  if (!headers.has("Cache-Control")) headers.set("Cache-Control", "private, no-store");
  headers.set("X-Robots-Tag", "noindex, nofollow");
  return headers;
};

/** A subfolder of a shared folder: only inside the shared subtree. */
export const loader = (args: LoaderFunctionArgs) => sharePageLoader(args, args.params.folderId ?? "");
export const action = (args: ActionFunctionArgs) => shareAction(args);

export default SharePage;
export const ErrorBoundary = ShareErrorBoundary;
