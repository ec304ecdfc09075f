import { cardClass } from "~/components/ui/card";

import { buttonClass } from "~/components/ui/button";

import { Card } from "~/components/ui/card";
import { data, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useLoaderData, useNavigation } from "@remix-run/react";
import { Field, FormMessage } from "~/components/field";
import { TableHead } from "~/components/table-head";
import { AUDIT_FILTER_FIELDS, AUDIT_OUTCOMES, auditActionLabel, type AuditFilterField } from "~/domain/audit/audit-filter";
import { auditFilterChoices, listAuditEvents, parseAuditFilter, type AuditPage } from "~/domain/audit/audit-log.server";
import { isAppError } from "~/domain/errors";
import { requireAdmin } from "~/route-helpers/guards.server";
import { formatDate } from "~/lib/format";
import { Button, ButtonLink } from "~/components/ui/button";

export const meta: MetaFunction = () => [{ title: "Audit log · Admin · Coffer" }];

type FilterValues = Record<AuditFilterField, string>;

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { services } = context;
  await requireAdmin(services, request);
  const params = new URL(request.url).searchParams;
  const values = Object.fromEntries(AUDIT_FILTER_FIELDS.map((name) => [name, params.get(name)?.trim() ?? ""])) as FilterValues;
  const choices = await auditFilterChoices(services);
  let page: AuditPage = { events: [], nextCursor: null, prevCursor: null };
  let error: { message: string; fieldErrors: Record<string, string> } | null = null;
  try {
    page = await listAuditEvents(services, parseAuditFilter(params), { after: params.get("after"), before: params.get("before") });
  } catch (caught) {
    if (!isAppError(caught)) throw caught;
    error = { message: caught.message, fieldErrors: caught.fieldErrors };
  }
  const events = page.events.map((event) => ({
    id: event.id,
    createdAt: event.createdAt.toISOString(),
    action: event.action,
    outcome: event.outcome,
    actorLabel: event.actorLabel,
    actorId: event.actorId,
    ip: event.ip,
    userAgent: event.userAgent,
    targetType: event.targetType,
    targetId: event.targetId,
    details: JSON.stringify(event.details ?? {}),
  }));
  return data(
    { values, choices, events, nextCursor: page.nextCursor, prevCursor: page.prevCursor, error },
    { status: error ? 400 : 200, headers: { "Cache-Control": "no-store" } },
  );
}

/** The current filters as a query string, with a page cursor when given. */
function queryOf(values: FilterValues, cursor: { after?: string | null; before?: string | null } = {}): string {
  const query = new URLSearchParams();
  for (const name of AUDIT_FILTER_FIELDS) if (values[name]) query.set(name, values[name]);
  if (cursor.after) query.set("after", cursor.after);
  if (cursor.before) query.set("before", cursor.before);
  const text = query.toString();
  return text ? `?${text}` : "";
}

function Select({
  label,
  name,
  value,
  options,
  error,
  optionLabel = (option) => option,
}: {
  label: string;
  name: string;
  value: string;
  options: readonly string[];
  error?: string;
  optionLabel?: (option: string) => string;
}) {
  const id = `field-${name}`;
  const choices = value && !options.includes(value) ? [value, ...options] : options;
  return (
    <div>
      <label htmlFor={id} className="label">
        {label}
      </label>
      <select
        id={id}
        name={name}
        className="input"
        defaultValue={value}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${id}-error` : undefined}
      >
        <option value="">Any</option>
        {choices.map((option) => (
          <option key={option} value={option}>
            {optionLabel(option)}
          </option>
        ))}
      </select>
      {error ? (
        <p id={`${id}-error`} className="field-error">
          {error}
        </p>
      ) : null}
    </div>
  );
}

export default function AuditLog() {
  const { values, choices, events, nextCursor, prevCursor, error } = useLoaderData<typeof loader>();
  const loading = useNavigation().state === "loading";
  const errors = error?.fieldErrors ?? {};
  const filtered = AUDIT_FILTER_FIELDS.some((name) => values[name] !== "");
  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-end justify-between gap-4">
        <div>
          <p className="text-sm">
            <Link to="/admin" className="text-accent-text underline">
              ← Administration
            </Link>
          </p>
          <h1 className="mt-1 text-2xl font-semibold">Audit log</h1>
          <p className="mt-1 text-sm text-text-muted">
            Security and data events, newest first. Times are UTC. Entries cannot be changed or deleted.
          </p>
        </div>
        {error ? null : (
          <a href={`/admin/audit.csv${queryOf(values)}`} className={buttonClass("secondary")} download>
            Export CSV{filtered ? " (filtered)" : ""}
          </a>
        )}
      </div>

      <Form method="get" className={cardClass("p-4")} aria-labelledby="filter-heading" key={queryOf(values)}>
        <h2 id="filter-heading" className="mb-3 font-semibold">
          Filter
        </h2>
        <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-4">
          <Field label="Actor email contains" name="actor" defaultValue={values.actor} error={errors.actor} autoComplete="off" />
          <Select
            label="Action"
            name="action"
            value={values.action}
            options={choices.actions}
            error={errors.action}
            optionLabel={auditActionLabel}
          />
          <Select label="Outcome" name="outcome" value={values.outcome} options={AUDIT_OUTCOMES} error={errors.outcome} />
          <Select label="Target type" name="targetType" value={values.targetType} options={choices.targetTypes} error={errors.targetType} />
          <Field label="Target id" name="targetId" defaultValue={values.targetId} error={errors.targetId} autoComplete="off" />
          <Field
            label="IP address"
            name="ip"
            defaultValue={values.ip}
            error={errors.ip}
            hint="Or its beginning, e.g. 203.0.113."
            autoComplete="off"
          />
          <Field label="From (UTC)" name="from" type="date" defaultValue={values.from} error={errors.from} />
          <Field label="To (UTC, inclusive)" name="to" type="date" defaultValue={values.to} error={errors.to} />
        </div>
        <div className="mt-4 flex flex-wrap gap-2">
          <Button variant="primary" type="submit" disabled={loading}>
            Apply filters
          </Button>
          {filtered ? (
            <ButtonLink variant="secondary" to="/admin/audit">
              Clear filters
            </ButtonLink>
          ) : null}
        </div>
      </Form>

      <FormMessage message={error?.message} />

      {error ? null : events.length === 0 ? (
        <Card padding="none" className="p-6 text-sm text-text-muted" data-testid="audit-empty">
          {filtered ? (
            <p>
              No events match these filters. Widen the dates or{" "}
              <Link to="/admin/audit" className="text-accent-text underline">
                clear the filters
              </Link>
              .
            </p>
          ) : (
            <p>No events yet. Sign-ins, shares, deletions and admin changes will be listed here as they happen.</p>
          )}
        </Card>
      ) : (
        // Focusable so keyboard users can scroll the wide table sideways on narrow screens (it has no links).
        <Card as="section" padding="none" className="overflow-x-auto" aria-label="Audit events" tabIndex={0}>
          <table className="w-full text-left text-sm">
            <TableHead
              columns={[
                { label: "Time" },
                { label: "Actor" },
                { label: "Action" },
                { label: "Outcome" },
                { label: "Target", hideBelow: "md" },
                { label: "IP", hideBelow: "sm" },
                { label: "Details", hideBelow: "md" },
              ]}
            />
            <tbody className="divide-y divide-border">
              {events.map((event) => (
                <tr key={event.id} data-testid="audit-row" data-event-id={event.id} className="align-top">
                  <td className="px-4 py-2 whitespace-nowrap">
                    <time dateTime={event.createdAt}>{formatDate(event.createdAt)}</time>
                  </td>
                  <td className="px-4 py-2 break-all" title={event.userAgent ?? undefined}>
                    {event.actorLabel}
                  </td>
                  <td className="px-4 py-2 font-mono text-xs whitespace-nowrap" title={auditActionLabel(event.action)}>
                    {event.action}
                  </td>
                  <td className="px-4 py-2">
                    <span
                      className={event.outcome === "failure" || event.outcome === "denied" ? "font-medium text-danger" : "text-text-muted"}
                    >
                      {event.outcome}
                    </span>
                  </td>
                  <td className="hidden px-4 py-2 break-all md:table-cell">
                    {event.targetType ? `${event.targetType}: ${event.targetId ?? ""}` : "—"}
                  </td>
                  <td className="hidden px-4 py-2 whitespace-nowrap sm:table-cell">{event.ip ?? "—"}</td>
                  <td className="hidden max-w-md px-4 py-2 font-mono text-xs break-all text-text-muted md:table-cell">
                    {event.details === "{}" ? "" : event.details}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </Card>
      )}

      {prevCursor || nextCursor ? (
        <nav aria-label="Pages" className="flex gap-2">
          {prevCursor ? (
            <ButtonLink variant="secondary" to={queryOf(values, { before: prevCursor })} rel="prev">
              ← Newer
            </ButtonLink>
          ) : null}
          {nextCursor ? (
            <ButtonLink variant="secondary" to={queryOf(values, { after: nextCursor })} rel="next">
              Older →
            </ButtonLink>
          ) : null}
        </nav>
      ) : null}
    </div>
  );
}
