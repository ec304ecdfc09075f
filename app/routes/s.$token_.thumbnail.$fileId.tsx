import type { LoaderFunctionArgs } from "@remix-run/node";
import { NotFoundError } from "~/domain/errors";
import { shareFile } from "~/domain/sharing/share-access.server";
import { thumbnailReply } from "~/domain/files/thumbnails.server";
import { fileResponse } from "~/route-helpers/file-response.server";
import { openShare, requireShareAccess, shareResourceFailure } from "~/route-helpers/share-route.server";
import { idParam } from "~/route-helpers/params.server";

/** The thumbnail of a shared file (or of a file in a shared folder), for the share pages. */
export async function loader(args: LoaderFunctionArgs) {
  const { request, params, context } = args;
  try {
    const link = await openShare(args);
    await requireShareAccess(args, link);
    if (link.mode !== "READ") throw new NotFoundError("That thumbnail");
    const file = await shareFile(context.services, link, idParam(params, "fileId", "That file"));
    const reply = await thumbnailReply(context.services, file, request);
    reply.headers.set("Referrer-Policy", "no-referrer");
    return fileResponse(reply);
  } catch (error) {
    if (error instanceof Response) return error;
    return shareResourceFailure(error);
  }
}
