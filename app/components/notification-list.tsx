import { Button } from "~/components/ui/button";
import { Badge } from "~/components/ui/badge";
import { Form, Link } from "@remix-run/react";
import { formatDate } from "~/lib/format";
import { CsrfInput } from "./csrf-input";

export interface NotificationEntry {
  id: string;
  at: string;
  read: boolean;
  who: string;
  what: string;
  href: string | null;
}

export interface NotificationDayGroup {
  day: string;
  entries: NotificationEntry[];
}

const WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

/** "Sunday 6 December 2026", spelt out here so the server and every browser agree (UTC, like the grouping). */
function dayLabel(day: string): string {
  const date = new Date(`${day}T00:00:00Z`);
  return `${WEEKDAYS[date.getUTCDay()]} ${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()}`;
}

/** Notifications grouped by day, each with a link to its item and, while unread, a "Mark read" form. */
export function NotificationList({ days, busy }: { days: NotificationDayGroup[]; busy: boolean }) {
  return (
    <div className="space-y-4" data-testid="notifications">
      {days.map((group) => (
        <section key={group.day} aria-labelledby={`day-${group.day}`}>
          <h3 id={`day-${group.day}`} className="text-sm font-semibold text-text">
            {dayLabel(group.day)}
          </h3>
          <ol className="mt-1 divide-y divide-border text-sm">
            {group.entries.map((entry) => (
              <li
                key={entry.id}
                className="flex flex-wrap items-center justify-between gap-x-4 gap-y-1 py-2"
                data-read={entry.read ? "true" : "false"}
              >
                <p className="wrap-anywhere">
                  {entry.read ? null : (
                    <Badge tone="accent" className="mr-2">
                      New
                    </Badge>
                  )}
                  <span className="font-medium">{entry.who}</span> {entry.what}
                  {entry.href ? (
                    <>
                      {" "}
                      <Link to={entry.href} className="text-accent-text underline underline-offset-2">
                        Open<span className="sr-only"> the item</span>
                      </Link>
                    </>
                  ) : null}
                </p>
                <span className="flex items-center gap-3">
                  <time dateTime={entry.at} className="whitespace-nowrap text-text-muted">
                    {formatDate(entry.at)}
                  </time>
                  {entry.read ? null : (
                    <Form method="post">
                      <CsrfInput />
                      <input type="hidden" name="id" value={entry.id} />
                      <Button type="submit" name="intent" value="read" variant="secondary" disabled={busy}>
                        Mark read
                      </Button>
                    </Form>
                  )}
                </span>
              </li>
            ))}
          </ol>
        </section>
      ))}
    </div>
  );
}
