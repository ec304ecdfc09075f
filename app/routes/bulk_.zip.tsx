import type { LoaderFunctionArgs } from "@remix-run/node";
import { parseSelection, zipSelection } from "~/domain/files/bulk.server";
import { contentDisposition } from "~/domain/files/downloads.server";
import { isAppError } from "~/domain/errors";
import { requireUser } from "~/route-helpers/guards.server";
import { webStream } from "~/route-helpers/file-response.server";
import { field, parseQuery } from "~/route-helpers/forms.server";
import { z } from "zod";

/**
 * GET /bulk/zip?item=file:<id>&item=folder:<id>…: the readable, live items of the selection as
 * one ZIP, built while it streams (folders with their whole subtree).
 */
export async function loader({ request, context }: LoaderFunctionArgs) {
  const { services } = context;
  const user = await requireUser(services, request);
  try {
    const refs = parseSelection(parseQuery(request, z.object({ item: field.repeated(z.string()) })).item);
    const { filename, stream } = await zipSelection(services, user, refs);
    return new Response(request.method === "HEAD" ? null : webStream(stream()), {
      status: 200,
      headers: {
        "Content-Type": "application/zip",
        "Content-Disposition": contentDisposition(filename),
        "Cache-Control": "private, no-store, no-transform",
        "X-Content-Type-Options": "nosniff",
      },
    });
  } catch (error) {
    if (isAppError(error)) {
      return new Response(error.message, { status: error.status, headers: { "Content-Type": "text/plain; charset=utf-8" } });
    }
    throw error;
  }
}
