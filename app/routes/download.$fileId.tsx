import type { LoaderFunctionArgs } from "@remix-run/node";
import { offloadableDownloadReply } from "~/domain/files/downloads.server";
import { getReadableFile } from "~/domain/files/files.server";
import { requireUser } from "~/route-helpers/guards.server";
import { isAppError } from "~/domain/errors";
import { fileResponse } from "~/route-helpers/file-response.server";
import { idParam } from "~/route-helpers/params.server";

/** Streams a file (GET and HEAD) with Range support. */
export async function loader({ request, params, context }: LoaderFunctionArgs) {
  const { services } = context;
  const user = await requireUser(services, request);
  try {
    const file = await getReadableFile(services, user, idParam(params, "fileId", "That file"));
    return fileResponse(await offloadableDownloadReply(services, file, request));
  } catch (error) {
    if (isAppError(error))
      return new Response(error.message, { status: error.status, headers: { "Content-Type": "text/plain; charset=utf-8" } });
    throw error;
  }
}
