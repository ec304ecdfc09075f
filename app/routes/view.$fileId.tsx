import type { LoaderFunctionArgs } from "@remix-run/node";
import { isAppError } from "~/domain/errors";
import { getReadableFile } from "~/domain/files/files.server";
import { inlineReply } from "~/domain/files/previews.server";
import { requireUser } from "~/route-helpers/guards.server";
import { fileResponse } from "~/route-helpers/file-response.server";
import { idParam } from "~/route-helpers/params.server";

/**
 * A file for the viewers on our pages (GET and HEAD, with Range): inline only for the types the
 * server classes as safe, an attachment under a sandboxing CSP for everything else.
 * `/download/<id>` stays the download.
 */
export async function loader({ request, params, context }: LoaderFunctionArgs) {
  const { services } = context;
  const user = await requireUser(services, request);
  try {
    const file = await getReadableFile(services, user, idParam(params, "fileId", "That file"));
    return fileResponse(await inlineReply(services, file, request));
  } catch (error) {
    if (isAppError(error))
      return new Response(error.message, { status: error.status, headers: { "Content-Type": "text/plain; charset=utf-8" } });
    throw error;
  }
}
