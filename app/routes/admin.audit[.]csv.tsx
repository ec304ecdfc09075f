import type { LoaderFunctionArgs } from "@remix-run/node";
import { AUDIT_FILTER_FIELDS } from "~/domain/audit/audit-filter";
import { auditCsvStream, parseAuditFilter } from "~/domain/audit/audit-log.server";
import { auditActor, recordAudit } from "~/domain/audit/audit.server";
import { isAppError } from "~/domain/errors";
import { requireAdmin } from "~/route-helpers/guards.server";

const CSV_HEADERS = { "Content-Type": "text/csv; charset=utf-8", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff" };

/** The events matching the viewer's filters as CSV, streamed in batches. */
export async function loader({ request, context }: LoaderFunctionArgs) {
  const { services } = context;
  const admin = await requireAdmin(services, request);
  const params = new URL(request.url).searchParams;
  let filter;
  try {
    filter = parseAuditFilter(params);
  } catch (error) {
    if (!isAppError(error)) throw error;
    const problems = Object.values(error.fieldErrors).join(" ");
    return new Response(`${error.message} ${problems}`.trim(), {
      status: error.status,
      headers: { "Content-Type": "text/plain; charset=utf-8" },
    });
  }
  if (request.method === "HEAD") return new Response(null, { headers: CSV_HEADERS });
  const asked = Object.fromEntries(
    AUDIT_FILTER_FIELDS.flatMap((name) => (params.get(name) ? [[name, params.get(name)!.slice(0, 254)]] : [])),
  );
  await recordAudit(services, auditActor(request, context.clientIp, admin), {
    action: "admin.audit_exported",
    targetType: "audit",
    details: { filter: asked },
  });
  const stamp = new Date().toISOString().slice(0, 19).replace(/[-:]/g, "").replace("T", "-");
  return new Response(auditCsvStream(services, filter), {
    headers: { ...CSV_HEADERS, "Content-Disposition": `attachment; filename="coffer-audit-${stamp}.csv"` },
  });
}
