import type { LoaderFunctionArgs } from "@remix-run/node";
import { isAppError } from "~/domain/errors";
import { requireUser } from "~/route-helpers/guards.server";
import { versionDownloadReply } from "~/domain/files/versions.server";
import { fileResponse } from "~/route-helpers/file-response.server";
import { idParam } from "~/route-helpers/params.server";

/** Streams an earlier version of a file (GET and HEAD) with Range support, under the file's name. */
export async function loader({ request, params, context }: LoaderFunctionArgs) {
  const { services } = context;
  const user = await requireUser(services, request);
  try {
    return fileResponse(await versionDownloadReply(services, user, idParam(params, "versionId", "That version"), request));
  } catch (error) {
    if (isAppError(error))
      return new Response(error.message, { status: error.status, headers: { "Content-Type": "text/plain; charset=utf-8" } });
    throw error;
  }
}
