import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { FolderView } from "~/components/folder-view";
import { folderAction, folderLoader } from "~/route-helpers/folder-route.server";

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `${data?.crumbs.at(-1)?.name ?? "Folder"} · Coffer` }];

export const loader = (args: LoaderFunctionArgs) => folderLoader(args);
export const action = (args: ActionFunctionArgs) => folderAction(args);

export default FolderView;
