import type { LoaderFunctionArgs } from "@remix-run/node";
import { NotFoundError } from "~/domain/errors";
import { inlineReply } from "~/domain/files/previews.server";
import { shareFile } from "~/domain/sharing/share-access.server";
import { fileResponse } from "~/route-helpers/file-response.server";
import { openShare, requireShareAccess, shareResourceFailure } from "~/route-helpers/share-route.server";
import { idParam } from "~/route-helpers/params.server";

/**
 * The viewer's copy of a shared file (inline for safe types, with Range). Only for links
 * without a download limit: viewing does not count as a download, so a limited link offers
 * the counted download alone.
 */
export async function loader(args: LoaderFunctionArgs) {
  const { request, params, context } = args;
  try {
    const link = await openShare(args);
    await requireShareAccess(args, link);
    if (link.mode !== "READ" || link.maxDownloads !== null) throw new NotFoundError("That preview");
    const file = await shareFile(context.services, link, idParam(params, "fileId", "That file"));
    const reply = await inlineReply(context.services, file, request);
    reply.headers.set("Cache-Control", "private, no-store, no-transform");
    reply.headers.set("Referrer-Policy", "no-referrer");
    return fileResponse(reply);
  } catch (error) {
    if (error instanceof Response) return error;
    return shareResourceFailure(error);
  }
}
