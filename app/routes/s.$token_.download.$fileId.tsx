import type { LoaderFunctionArgs } from "@remix-run/node";
import { auditActor } from "~/domain/audit/audit.server";
import { offloadableDownloadReply } from "~/domain/files/downloads.server";
import { readDownloadHeaders } from "~/domain/files/request-headers";
import { NotFoundError } from "~/domain/errors";
import { countShareDownload, shareFile } from "~/domain/sharing/share-access.server";
import { fileResponse } from "~/route-helpers/file-response.server";
import { openShare, requireShareAccess, shareResourceFailure } from "~/route-helpers/share-route.server";
import { idParam } from "~/route-helpers/params.server";

/**
 * Downloads the shared file, or a file inside a shared folder. Each download counts toward the
 * link's limit (a resumed download, a Range not starting at 0, does not count again).
 */
export async function loader(args: LoaderFunctionArgs) {
  const { request, params, context } = args;
  const { services } = context;
  try {
    const link = await openShare(args);
    await requireShareAccess(args, link);
    if (link.mode !== "READ") throw new NotFoundError("That file");
    const file = await shareFile(services, link, idParam(params, "fileId", "That file"));
    const { range } = readDownloadHeaders(request.headers);
    const continuing = range !== null && range.first !== 0;
    const reply = await offloadableDownloadReply(services, file, request);
    // Counted by what the answer gives (the whole file, its start, or a URL to it), not by which
    // validators were sent: a made-up If-None-Match or If-Range must not buy an uncounted download.
    const whole = reply.status === 200 || ((reply.status === 206 || reply.status === 302) && !continuing);
    if (request.method === "GET" && whole) {
      try {
        await countShareDownload(services, link, { kind: "file", itemId: file.id }, auditActor(request, context.clientIp, null));
      } catch (error) {
        if (reply.body !== null && typeof reply.body !== "string") reply.body.destroy();
        throw error;
      }
    }
    // Never compressed on the way (Range and Content-Length stay exact), never cached by others.
    reply.headers.set("Cache-Control", "private, no-store, no-transform");
    reply.headers.set("Referrer-Policy", "no-referrer");
    return fileResponse(reply);
  } catch (error) {
    if (error instanceof Response) return error;
    return shareResourceFailure(error);
  }
}
