import { Card, cardClass } from "~/components/ui/card";

import { Button } from "~/components/ui/button";
import { Form, Link } from "@remix-run/react";
import type { StoredBulkResult } from "~/domain/files/bulk-results.server";
import { CsrfInput } from "~/components/csrf-input";
import { FormMessage } from "~/components/field";

/** What a bulk action's page shows after it ran: its per-item summary, or why nothing changed. */
export type ShownBulkResult = ({ ok: true } & StoredBulkResult) | { ok: false; message: string; back: string };

export function BulkSummaryExpired() {
  return (
    <div className="mx-auto max-w-2xl space-y-4">
      <h1 className="text-2xl font-semibold">This summary is no longer available</h1>
      <p className="text-sm text-text-muted">
        Summaries of actions on selected items are kept for 30 minutes. Open the folder to see how things are now.
      </p>
      <p>
        <Link to="/files" className="text-accent-text hover:underline">
          Go to My files
        </Link>
      </p>
    </div>
  );
}

export function BulkSummary({ shown }: { shown: ShownBulkResult }) {
  return (
    <div className="mx-auto max-w-2xl space-y-4">
      <h1 className="text-2xl font-semibold">{shown.ok ? "Done" : "Nothing was changed"}</h1>
      <FormMessage
        message={shown.ok ? shown.outcome.message : shown.message}
        tone={shown.ok && shown.outcome.skipped === 0 ? "success" : "error"}
      />
      {shown.ok && shown.outcome.results.length > 0 ? (
        <Card as="ul" padding="none" className="divide-y divide-border text-sm" data-testid="bulk-results">
          {shown.outcome.results.map((item) => (
            <li key={`${item.kind}:${item.id}`} className="flex items-center justify-between gap-3 px-4 py-2">
              <span className="wrap-anywhere">{item.name ?? "Unknown item"}</span>
              <span className={item.ok ? "text-success" : "text-danger"}>{item.ok ? "Done" : `Skipped: ${item.reason}`}</span>
            </li>
          ))}
        </Card>
      ) : null}
      {shown.ok ? <RetryConflicts result={shown} /> : null}
      <p>
        <Link to={shown.back} className="text-accent-text hover:underline">
          {shown.back === "/trash" ? "Back to the trash" : "Back to the folder"}
        </Link>
      </p>
    </div>
  );
}

/** Items skipped because their name was taken can be tried again with another policy (a plain form). */
function RetryConflicts({ result }: { result: StoredBulkResult }) {
  const { outcome, destinationId, back } = result;
  const conflicts = outcome.results.filter((item) => !item.ok && item.status === 409);
  if (!destinationId || conflicts.length === 0 || (outcome.operation !== "move" && outcome.operation !== "copy")) return null;
  return (
    <Form method="post" action="/bulk" className={cardClass("space-y-3 p-4")}>
      <CsrfInput />
      <h2 className="text-lg font-semibold">{`Try the ${conflicts.length === 1 ? "skipped item" : `${conflicts.length} skipped items`} again`}</h2>
      <input type="hidden" name="intent" value={outcome.operation} />
      <input type="hidden" name="from" value={back} />
      <input type="hidden" name="destination" value={destinationId} />
      {conflicts.map((item) => (
        <input key={`${item.kind}:${item.id}`} type="hidden" name="item" value={`${item.kind}:${item.id}`} />
      ))}
      <div>
        <label htmlFor="retry-policy" className="label">
          If a name is taken
        </label>
        <select id="retry-policy" name="policy" defaultValue="keep-both" className="input">
          <option value="keep-both">Keep both</option>
          <option value="replace">Replace (keep the old one as a version)</option>
        </select>
      </div>
      <Button type="submit" variant="primary">
        {outcome.operation === "copy" ? "Copy again" : "Move again"}
      </Button>
    </Form>
  );
}
