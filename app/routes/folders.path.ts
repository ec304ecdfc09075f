import { redirect, type ActionFunctionArgs, type LoaderFunctionArgs } from "@remix-run/node";
import { z } from "zod";
import { isAppError, ValidationError } from "~/domain/errors";
import { getWritableFolder } from "~/domain/files/folders.server";
import { requireUser } from "~/route-helpers/guards.server";
import { parseUploadPath, resolveUploadFolder } from "~/domain/uploads/upload-paths.server";
import { field, parseForm } from "~/route-helpers/forms.server";

const inputSchema = z.object({
  folderId: field.string(
    z
      .string()
      .trim()
      .max(100)
      .regex(/^[A-Za-z0-9_-]*$/, "Unknown folder."),
  ),
  path: field.string(z.string().min(1, "Give the folder path to create.").max(5000)),
});

/**
 * POST /folders/path (folderId, path="A/B/C/"): makes sure the folders of `path` exist below the
 * folder (creating what is missing, reusing what is there), e.g. the empty folders of a dropped
 * folder tree. Idempotent; concurrent requests for the same path end with one set of folders.
 * Answers JSON `{ ok, folderId }` to scripts (Accept: application/json), else redirects to the
 * deepest folder.
 */
export async function action({ request, context }: ActionFunctionArgs) {
  const { services } = context;
  const user = await requireUser(services, request);
  const wantsJson = (request.headers.get("accept") ?? "").includes("application/json");
  try {
    if (request.method !== "POST") throw new ValidationError("Use POST to create folders.");
    const input = await parseForm(request, inputSchema);
    const segments = parseUploadPath(input.path);
    if (segments.length === 0) throw new ValidationError("Give the folder path to create.");
    const base = await getWritableFolder(services, user, input.folderId || null);
    const folder = await resolveUploadFolder(services, base, segments, user.id);
    if (!wantsJson) return redirect(`/files/${folder.id}`, 303);
    return Response.json({ ok: true, folderId: folder.id, name: folder.name });
  } catch (error) {
    if (!isAppError(error)) throw error;
    if (!wantsJson) return new Response(error.message, { status: error.status, headers: { "Content-Type": "text/plain; charset=utf-8" } });
    return Response.json({ ok: false, message: error.message }, { status: error.status });
  }
}

export function loader(_: LoaderFunctionArgs) {
  return new Response("Use POST to create folders.", {
    status: 405,
    headers: { Allow: "POST", "Content-Type": "text/plain; charset=utf-8" },
  });
}
