import { z } from "zod";
import { AUDIT_FILTER_FIELDS } from "~/domain/audit/audit-filter";
import {
  type AuditExportFormat,
  auditExportStream,
  decodeAuditCursor,
  listAuditEvents,
  parseAuditFilter,
} from "~/domain/audit/audit-log.server";
import { auditActor, recordAudit } from "~/domain/audit/audit.server";
import { isAppError } from "~/domain/errors";
import { defineOperation, json, type Operation, type OperationContext } from "./operation.server";
import { ApiProblem } from "./problem.server";
import { AuditExportQuery, AuditPage, AuditQuery } from "./schemas-admin";

/** The audit log, with the audit page's filters and its export (the same columns, streamed). */

const NoParams = z.strictObject({});
type Filters = Partial<Record<(typeof AUDIT_FILTER_FIELDS)[number], string>>;

/** The filters through the audit page's own parser; its refusals point at the query fields. */
function filterOf(query: Filters) {
  const params = new URLSearchParams();
  for (const name of AUDIT_FILTER_FIELDS) if (query[name] !== undefined) params.set(name, query[name]!);
  try {
    return parseAuditFilter(params);
  } catch (error) {
    if (!isAppError(error)) throw error;
    const errors = Object.entries(error.fieldErrors).map(([name, detail]) => ({ pointer: `/query/${name}`, detail }));
    throw new ApiProblem(422, error.message, errors);
  }
}

const EXPORTS: Record<AuditExportFormat, { contentType: string; extension: string }> = {
  csv: { contentType: "text/csv", extension: "csv" },
  ndjson: { contentType: "application/x-ndjson", extension: "ndjson" },
};

function exportOperation(format: AuditExportFormat): Operation {
  const { contentType, extension } = EXPORTS[format];
  return defineOperation({
    operationId: format === "csv" ? "exportAuditCsv" : "exportAuditNdjson",
    method: "get",
    path: `/admin/audit/export.${extension}`,
    tag: "Audit",
    summary: `Export the audit log as ${format === "csv" ? "CSV" : "NDJSON"}`,
    description:
      format === "csv"
        ? "Every event matching the filters, newest first, with the columns of the audit page's CSV; streamed, however many there are. The export is itself audited."
        : "Every event matching the filters, newest first, one JSON object a line with the CSV's columns as keys; streamed. The export is itself audited.",
    scope: "admin",
    params: NoParams,
    query: AuditExportQuery,
    responses: { 200: { description: "The events.", contentType } },
    async handler({ services, principal, query, request, clientIp }: OperationContext<unknown, Filters, unknown>) {
      const filter = filterOf(query);
      const headers = {
        "Content-Type": `${contentType}; charset=utf-8`,
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
      };
      // A HEAD exports nothing, so it is not recorded as an export (as on the audit page).
      if (request.method === "HEAD") return new Response(null, { headers });
      const asked = Object.fromEntries(Object.entries(query).filter(([, value]) => value !== undefined));
      await recordAudit(services, auditActor(request, clientIp, principal.user), {
        action: "admin.audit_exported",
        targetType: "audit",
        details: { filter: asked, format },
      });
      const stamp = new Date().toISOString().slice(0, 19).replace(/[-:]/g, "").replace("T", "-");
      return new Response(auditExportStream(services, filter, format), {
        headers: { ...headers, "Content-Disposition": `attachment; filename="coffer-audit-${stamp}.${extension}"` },
      });
    },
  });
}

export const adminAuditOperations: Operation[] = [
  defineOperation({
    operationId: "listAuditEvents",
    method: "get",
    path: "/admin/audit",
    tag: "Audit",
    summary: "List audit events",
    description: "Security and data events, newest first, with the audit page's filters; 50 a page, paged with a cursor.",
    scope: "admin",
    params: NoParams,
    query: AuditQuery,
    responses: { 200: { description: "One page of events.", schema: AuditPage } },
    async handler({ services, query }) {
      const { cursor, ...filters } = query;
      const filter = filterOf(filters);
      if (cursor !== undefined && decodeAuditCursor(cursor) === null) {
        throw new ApiProblem(422, "The cursor is not valid for this listing.", [
          { pointer: "/query/cursor", detail: "Use a nextCursor this listing gave." },
        ]);
      }
      const page = await listAuditEvents(services, filter, { after: cursor ?? null });
      return json({
        items: page.events.map((event) => ({
          id: event.id,
          time: event.createdAt.toISOString(),
          action: event.action,
          outcome: event.outcome,
          actor: event.actorLabel,
          actorId: event.actorId,
          ip: event.ip,
          userAgent: event.userAgent,
          targetType: event.targetType,
          targetId: event.targetId,
          details: (event.details ?? {}) as Record<string, unknown>,
        })),
        nextCursor: page.nextCursor,
      });
    },
  }),
  exportOperation("csv"),
  exportOperation("ndjson"),
];
