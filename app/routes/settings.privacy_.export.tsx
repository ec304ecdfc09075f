import { redirect, type ActionFunctionArgs } from "@remix-run/node";
import { auditActor } from "~/domain/audit/audit.server";
import { contentDisposition } from "~/domain/files/downloads.server";
import { exportAccount, exportFileName } from "~/domain/accounts/account-export.server";
import { rateLimit, TooManyRequestsError } from "~/domain/rate-limit.server";
import { requireUser } from "~/route-helpers/guards.server";
import { webStream } from "~/route-helpers/file-response.server";

/** POST /settings/privacy/export: everything of mine as one ZIP, streamed as it is built. */
export async function action({ request, context }: ActionFunctionArgs) {
  const { services, clientIp } = context;
  const user = await requireUser(services, request);
  try {
    // An export reads every file the user has: a few per hour is plenty.
    await rateLimit(services, `export:${user.id}`, { limit: 5, windowMs: 60 * 60 * 1000 });
  } catch (error) {
    if (error instanceof TooManyRequestsError) {
      return redirect(`/settings/privacy?export-wait=${error.retryAfter}`, {
        status: 303,
        headers: { "Retry-After": String(error.retryAfter) },
      });
    }
    throw error;
  }
  const stream = await exportAccount(services, user, auditActor(request, clientIp, user));
  return new Response(webStream(stream), {
    headers: {
      "Content-Type": "application/zip",
      "Content-Disposition": contentDisposition(exportFileName(user)),
      "Cache-Control": "private, no-store, no-transform",
      "X-Content-Type-Options": "nosniff",
    },
  });
}

export function loader() {
  return redirect("/settings/privacy");
}
