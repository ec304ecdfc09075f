import type { LoaderFunctionArgs } from "@remix-run/node";
import { isAppError } from "~/domain/errors";
import { getReadableFile } from "~/domain/files.server";
import { requireUser } from "~/domain/sessions.server";
import { thumbnailResponse } from "~/domain/thumbnails.server";
import { idParam } from "~/lib/params.server";

/** A file's thumbnail, for whoever may read the file (owner, share grantee, admin). */
export async function loader({ request, params, context }: LoaderFunctionArgs) {
  const { services } = context;
  const user = await requireUser(services, request);
  try {
    const file = await getReadableFile(services, user, idParam(params, "fileId", "That file"));
    return await thumbnailResponse(services, file, request);
  } catch (error) {
    if (isAppError(error)) return new Response(error.message, { status: error.status, headers: { "Content-Type": "text/plain; charset=utf-8" } });
    throw error;
  }
}
