import type { LoaderFunctionArgs } from "@remix-run/node";
import { auditActor } from "~/domain/audit/audit.server";
import { contentDisposition } from "~/domain/files/downloads.server";
import { NotFoundError } from "~/domain/errors";
import { countShareDownload, shareFolderChain } from "~/domain/sharing/share-access.server";
import { zipFolder } from "~/domain/files/zip.server";
import { webStream } from "~/route-helpers/file-response.server";
import { openShare, requireShareAccess, shareResourceFailure } from "~/route-helpers/share-route.server";
import { field, parseQuery } from "~/route-helpers/forms.server";
import { asId } from "~/route-helpers/params.server";
import { z } from "zod";

const zipQuery = z.object({ folder: field.text(300) });

/** The shared folder (or `?folder=` one of its subfolders) as a ZIP, built while it streams. Counts as one download. */
export async function loader(args: LoaderFunctionArgs) {
  const { request, context } = args;
  const { services } = context;
  try {
    const link = await openShare(args);
    await requireShareAccess(args, link);
    if (link.mode !== "READ" || !link.folderId) throw new NotFoundError("That folder");
    const { folder: subfolder } = parseQuery(request, zipQuery);
    const chain = await shareFolderChain(services, link, subfolder ? asId(subfolder, "That folder") : link.folderId);
    const folder = chain.at(-1)!;
    if (request.method === "GET")
      await countShareDownload(services, link, { kind: "zip", itemId: folder.id }, auditActor(request, context.clientIp, null));
    const body = request.method === "HEAD" ? null : webStream(await zipFolder(services, folder.id));
    return new Response(body, {
      status: 200,
      headers: {
        "Content-Type": "application/zip",
        "Content-Disposition": contentDisposition(`${folder.name || "files"}.zip`),
        "Cache-Control": "private, no-store, no-transform",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
      },
    });
  } catch (error) {
    if (error instanceof Response) return error;
    return shareResourceFailure(error);
  }
}
