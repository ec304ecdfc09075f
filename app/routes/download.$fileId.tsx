import type { LoaderFunctionArgs } from "@remix-run/node";
import { downloadResponse } from "~/domain/downloads.server";
import { getReadableFile } from "~/domain/files.server";
import { requireUser } from "~/domain/sessions.server";
import { isAppError } from "~/domain/errors";
import { idParam } from "~/lib/params.server";

/** Streams a file (GET and HEAD) with Range support. */
export async function loader({ request, params, context }: LoaderFunctionArgs) {
  const { services } = context;
  const user = await requireUser(services, request);
  try {
    const file = await getReadableFile(services, user, idParam(params, "fileId", "That file"));
    return await downloadResponse(services, file, request);
  } catch (error) {
    if (isAppError(error)) return new Response(error.message, { status: error.status, headers: { "Content-Type": "text/plain; charset=utf-8" } });
    throw error;
  }
}
