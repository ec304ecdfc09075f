import { Card } from "~/components/ui/card";
import { Link } from "@remix-run/react";
import { formatDate } from "~/lib/format";

export interface ActivityEntry {
  id: string;
  at: string;
  who: string;
  subjectType: string;
  subjectId: string;
  name: string | null;
  what: string;
  action: string;
}

/** Link to the item an entry is about, while it can still be opened (deleted items have no page). */
function itemHref(entry: ActivityEntry): string | null {
  if (entry.subjectType !== "file" && entry.subjectType !== "folder") return null;
  if (entry.action.endsWith(".deleted")) return null;
  return `/details/${entry.subjectType}/${entry.subjectId}`;
}

/** A list of activity entries: when, who, what. `linkItems` adds a link to each item's details. */
export function ActivityList({ entries, linkItems = false, testId }: { entries: ActivityEntry[]; linkItems?: boolean; testId?: string }) {
  return (
    <ol className="divide-y divide-border text-sm" data-testid={testId}>
      {entries.map((entry) => {
        const href = linkItems ? itemHref(entry) : null;
        return (
          <li key={entry.id} className="flex flex-wrap items-baseline justify-between gap-x-4 gap-y-1 py-2">
            <p className="wrap-anywhere">
              <span className="font-medium">{entry.who}</span> {entry.what}
              {href ? (
                <>
                  {" "}
                  <Link to={href} className="text-accent-text underline underline-offset-2">
                    Details<span className="sr-only">{entry.name ? ` of ${entry.name}` : ""}</span>
                  </Link>
                </>
              ) : null}
            </p>
            <time dateTime={entry.at} className="whitespace-nowrap text-text-muted">
              {formatDate(entry.at)}
            </time>
          </li>
        );
      })}
    </ol>
  );
}

/** The details page's activity section: who did what to this item, newest first. */
export function ItemActivitySection({ entries, kindLabel }: { entries: ActivityEntry[]; kindLabel: string }) {
  return (
    <Card as="section" padding="none" className="p-4" aria-labelledby="activity-heading">
      <h2 id="activity-heading" className="text-lg font-semibold">
        Activity
      </h2>
      {entries.length === 0 ? (
        <p className="mt-2 text-sm text-text-muted">{`Nothing has been recorded for this ${kindLabel} yet.`}</p>
      ) : (
        <div className="mt-2">
          <ActivityList entries={entries} testId="item-activity" />
        </div>
      )}
      <p className="mt-2 text-sm">
        <Link to="/activity" className="text-accent-text underline">
          All my activity
        </Link>
      </p>
    </Card>
  );
}
