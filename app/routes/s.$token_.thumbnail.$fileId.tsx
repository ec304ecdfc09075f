import type { LoaderFunctionArgs } from "@remix-run/node";
import { NotFoundError } from "~/domain/errors";
import { shareFile } from "~/domain/share-links.server";
import { thumbnailResponse } from "~/domain/thumbnails.server";
import { openShare, requireShareAccess, shareResourceFailure } from "~/lib/share-route.server";
import { idParam } from "~/lib/params.server";

/** The thumbnail of a shared file (or of a file in a shared folder), for the share pages. */
export async function loader(args: LoaderFunctionArgs) {
  const { request, params, context } = args;
  try {
    const link = await openShare(args);
    await requireShareAccess(args, link);
    if (link.mode !== "READ") throw new NotFoundError("That thumbnail");
    const file = await shareFile(context.services, link, idParam(params, "fileId", "That file"));
    const response = await thumbnailResponse(context.services, file, request);
    response.headers.set("Referrer-Policy", "no-referrer");
    return response;
  } catch (error) {
    if (error instanceof Response) return error;
    return shareResourceFailure(error);
  }
}
