import { z } from "zod";
import type { AuditEvent, Prisma } from "~/generated/prisma/client";
import type { Services } from "~/services/index.server";
import { AUDIT_FILTER_FIELDS, AUDIT_OUTCOMES, AUDIT_TARGET_TYPES } from "./audit-filter";
import { ValidationError } from "../errors";
import { fieldErrors } from "../accounts/users.server";
import { decodeTimeCursor, encodeTimeCursor, type TimePosition } from "../time-cursor";

/** Rows on one page of the viewer, and rows fetched per query while a CSV export streams. */
export const AUDIT_PAGE_SIZE = 50;
export const AUDIT_EXPORT_BATCH = 500;

const text = (max: number) =>
  z.preprocess(
    (value) => (typeof value === "string" && value.trim() !== "" ? value.trim() : undefined),
    z.string().max(max, `Use at most ${max} characters.`).optional(),
  );

/** "YYYY-MM-DD" (UTC day) or "YYYY-MM-DDTHH:mm" (UTC); `endOfDay` makes a bare date inclusive. */
function dateBound(endOfDay: boolean) {
  return text(40).transform((value, ctx) => {
    if (value === undefined) return undefined;
    let date: Date;
    if (/^\d{4}-\d{2}-\d{2}$/.test(value)) date = new Date(`${value}T${endOfDay ? "23:59:59.999" : "00:00:00.000"}Z`);
    else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(value)) date = new Date(`${value}Z`);
    else date = new Date(NaN);
    if (Number.isNaN(date.getTime())) {
      ctx.addIssue({ code: "custom", message: "Enter a date such as 2026-11-27, or a date and time such as 2026-11-27T18:00 (UTC)." });
      return z.NEVER;
    }
    return date;
  });
}

export const auditFilterSchema = z
  .object({
    actor: text(254),
    action: text(64).pipe(
      z
        .string()
        .regex(/^[a-z_]+\.[a-z_]+$/, "Choose an action from the list.")
        .optional(),
    ),
    outcome: text(16).pipe(z.enum(AUDIT_OUTCOMES, { message: "Choose success, failure or denied." }).optional()),
    targetType: text(32).pipe(
      z
        .string()
        .regex(/^[a-z_]+$/, "Choose a target type from the list.")
        .optional(),
    ),
    targetId: text(128),
    ip: text(64).pipe(
      z
        .string()
        .regex(/^[0-9A-Fa-f:.]+$/, "Enter an IP address or its beginning, e.g. 203.0.113.")
        .optional(),
    ),
    from: dateBound(false),
    to: dateBound(true),
  })
  .superRefine((filter, ctx) => {
    if (filter.from && filter.to && filter.from > filter.to) {
      ctx.addIssue({ code: "custom", path: ["to"], message: "The end must not be before the start." });
    }
  });

export type AuditFilter = z.output<typeof auditFilterSchema>;

/** The filter from a query string; ValidationError (with field errors) when a field is malformed. */
export function parseAuditFilter(params: URLSearchParams): AuditFilter {
  const input = Object.fromEntries(AUDIT_FILTER_FIELDS.map((name) => [name, params.get(name) ?? undefined]));
  const parsed = auditFilterSchema.safeParse(input);
  if (!parsed.success) throw new ValidationError("No events are shown: correct the highlighted filters.", fieldErrors(parsed.error));
  return parsed.data;
}

function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function whereOf(filter: AuditFilter): Prisma.AuditEventWhereInput {
  return {
    ...(filter.actor ? { actorLabel: { contains: escapeLike(filter.actor), mode: "insensitive" as const } } : {}),
    ...(filter.action ? { action: filter.action } : {}),
    ...(filter.outcome ? { outcome: filter.outcome } : {}),
    ...(filter.targetType ? { targetType: filter.targetType } : {}),
    ...(filter.targetId ? { targetId: filter.targetId } : {}),
    ...(filter.ip ? { ip: { startsWith: escapeLike(filter.ip) } } : {}),
    ...(filter.from || filter.to
      ? { createdAt: { ...(filter.from ? { gte: filter.from } : {}), ...(filter.to ? { lte: filter.to } : {}) } }
      : {}),
  };
}

type Position = TimePosition;

/** The position a cursor encodes; null when missing or malformed (which gives the first page). */
export function decodeAuditCursor(cursor: string | null | undefined): Position | null {
  return cursor ? decodeTimeCursor(cursor) : null;
}

/** Rows strictly older (after, in newest-first order) or newer (before) than a position. */
function beyond(position: Position, direction: "older" | "newer"): Prisma.AuditEventWhereInput {
  const op = direction === "older" ? "lt" : "gt";
  return { OR: [{ createdAt: { [op]: position.createdAt } }, { createdAt: position.createdAt, id: { [op]: position.id } }] };
}

const NEWEST_FIRST: Prisma.AuditEventOrderByWithRelationInput[] = [{ createdAt: "desc" }, { id: "desc" }];
const OLDEST_FIRST: Prisma.AuditEventOrderByWithRelationInput[] = [{ createdAt: "asc" }, { id: "asc" }];

export interface AuditPage {
  events: AuditEvent[];
  /** `?after=` cursor for older events, or null on the last page. */
  nextCursor: string | null;
  /** `?before=` cursor for newer events, or null on the first page. */
  prevCursor: string | null;
}

/** One page of events matching the filter, newest first; `before` wins over `after`. */
export async function listAuditEvents(
  services: Services,
  filter: AuditFilter,
  page: { after?: string | null; before?: string | null } = {},
  limit = AUDIT_PAGE_SIZE,
): Promise<AuditPage> {
  const where = whereOf(filter);
  const before = decodeAuditCursor(page.before);
  const after = before ? null : decodeAuditCursor(page.after);
  if (before) {
    const rows = await services.prisma.auditEvent.findMany({
      where: { AND: [where, beyond(before, "newer")] },
      orderBy: OLDEST_FIRST,
      take: limit + 1,
    });
    const hasNewer = rows.length > limit;
    const events = rows.slice(0, limit).reverse();
    if (events.length === 0) return listAuditEvents(services, filter, {}, limit);
    return { events, nextCursor: encodeTimeCursor(events.at(-1)!), prevCursor: hasNewer ? encodeTimeCursor(events[0]) : null };
  }
  const rows = await services.prisma.auditEvent.findMany({
    where: after ? { AND: [where, beyond(after, "older")] } : where,
    orderBy: NEWEST_FIRST,
    take: limit + 1,
  });
  const events = rows.slice(0, limit);
  return {
    events,
    nextCursor: rows.length > limit ? encodeTimeCursor(events.at(-1)!) : null,
    prevCursor: after && events.length > 0 ? encodeTimeCursor(events[0]) : null,
  };
}

/**
 * Action names that occur in the log, for the filter's choices. A loose index scan (one index
 * probe per distinct action) keeps this fast however many events there are.
 */
export async function auditFilterChoices(services: Services): Promise<{ actions: string[]; targetTypes: string[] }> {
  const rows = await services.prisma.$queryRaw<Array<{ action: string }>>`
    WITH RECURSIVE actions AS (
      (SELECT action FROM audit_events ORDER BY action LIMIT 1)
      UNION ALL
      SELECT (SELECT e.action FROM audit_events e WHERE e.action > actions.action ORDER BY e.action LIMIT 1)
      FROM actions WHERE actions.action IS NOT NULL
    )
    SELECT action FROM actions WHERE action IS NOT NULL`;
  return { actions: rows.map((row) => row.action), targetTypes: [...AUDIT_TARGET_TYPES] };
}

// ---------------------------------------------------------------------------------------------
// CSV export

export const AUDIT_CSV_COLUMNS = [
  "time",
  "action",
  "outcome",
  "actor",
  "actor_id",
  "ip",
  "user_agent",
  "target_type",
  "target_id",
  "details",
] as const;

/**
 * One RFC 4180 field. Text that a spreadsheet would run as a formula (starting with = + - @,
 * or a tab or carriage return that hides one) is prefixed with an apostrophe; fields with a
 * quote, comma or line break are quoted, with inner quotes doubled.
 */
export function csvField(value: string | null | undefined): string {
  let text = value ?? "";
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvRow(values: Array<string | null | undefined>): string {
  return `${values.map(csvField).join(",")}\r\n`;
}

function eventRow(event: AuditEvent): string {
  return csvRow([
    event.createdAt.toISOString(),
    event.action,
    event.outcome,
    event.actorLabel,
    event.actorId,
    event.ip,
    event.userAgent,
    event.targetType,
    event.targetId,
    JSON.stringify(event.details ?? {}),
  ]);
}

/** One event as a line of JSON (NDJSON), with the CSV's columns as its keys. */
function eventJsonLine(event: AuditEvent): string {
  return `${JSON.stringify({
    time: event.createdAt.toISOString(),
    action: event.action,
    outcome: event.outcome,
    actor: event.actorLabel,
    actor_id: event.actorId,
    ip: event.ip,
    user_agent: event.userAgent,
    target_type: event.targetType,
    target_id: event.targetId,
    details: event.details ?? {},
  })}\n`;
}

export type AuditExportFormat = "csv" | "ndjson";

/**
 * Every event matching the filter as CSV, newest first, read in keyset batches while the
 * response streams, so an export of any size holds only one batch in memory.
 */
export function auditCsvStream(services: Services, filter: AuditFilter, batchSize = AUDIT_EXPORT_BATCH): ReadableStream<Uint8Array> {
  return auditExportStream(services, filter, "csv", batchSize);
}

/** The export in either format: CSV (a header row first) or NDJSON (one event per line). */
export function auditExportStream(
  services: Services,
  filter: AuditFilter,
  format: AuditExportFormat,
  batchSize = AUDIT_EXPORT_BATCH,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const where = whereOf(filter);
  const line = format === "csv" ? eventRow : eventJsonLine;
  let position: Position | null = null;
  let headerSent = format !== "csv";
  let done = false;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (!headerSent) {
          headerSent = true;
          controller.enqueue(encoder.encode(csvRow([...AUDIT_CSV_COLUMNS])));
          return;
        }
        if (done) return;
        const rows: AuditEvent[] = await services.prisma.auditEvent.findMany({
          where: position ? { AND: [where, beyond(position, "older")] } : where,
          orderBy: NEWEST_FIRST,
          take: batchSize,
        });
        if (rows.length > 0) {
          position = rows.at(-1)!;
          controller.enqueue(encoder.encode(rows.map(line).join("")));
        }
        if (rows.length < batchSize) {
          done = true;
          controller.close();
        }
      },
    },
    { highWaterMark: 1 },
  );
}
