import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import type { ClientLoaderFunctionArgs } from "@remix-run/react";
import { loadFolderPage } from "~/components/folder-gone";
import { FolderView } from "~/components/folder-view";
import { folderAction, folderLoader } from "~/route-helpers/folder-route.server";

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `${data?.crumbs.at(-1)?.name ?? "Folder"} · Coffer` }];

export const loader = (args: LoaderFunctionArgs) => folderLoader(args);
export const action = (args: ActionFunctionArgs) => folderAction(args);

/** A refresh that finds the folder trashed or deleted keeps the page (and its uploads) with a notice. */
export const clientLoader = ({ request, serverLoader }: ClientLoaderFunctionArgs) =>
  loadFolderPage(request, () => serverLoader<typeof loader>());

export default FolderView;
