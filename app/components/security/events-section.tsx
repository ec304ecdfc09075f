import { Card } from "~/components/ui/card";
import { TableHead } from "~/components/table-head";
import { formatDate } from "~/lib/format";

export interface SecurityEventRow {
  id: string;
  createdAt: string;
  description: string;
  failed: boolean;
  ip: string | null;
}

/** The latest security events of the account, newest first. */
export function EventsSection({ events }: { events: SecurityEventRow[] }) {
  return (
    <Card as="section" padding="none" className="overflow-hidden" aria-labelledby="events-heading">
      <div className="p-6 pb-4">
        <h2 id="events-heading" className="text-lg font-semibold">
          Recent security events
        </h2>
        <p className="mt-1 text-sm text-text-muted">
          Password changes, resets and logged-out sessions of your account. Anything you did not do? Change your password.
        </p>
      </div>
      {events.length === 0 ? (
        <p className="px-6 pb-6 text-sm text-text-muted">No security events yet. They appear here when your password or sessions change.</p>
      ) : (
        <table className="w-full text-left text-sm">
          <TableHead columns={[{ label: "When" }, { label: "Event" }, { label: "IP address", hideBelow: "sm" }]} />
          <tbody className="divide-y divide-border">
            {events.map((event) => (
              <tr key={event.id}>
                <td className="px-4 py-2 whitespace-nowrap text-text-muted">{formatDate(event.createdAt)}</td>
                <td className="px-4 py-2">
                  {event.description}
                  {event.failed ? (
                    <span className="ml-2 rounded bg-danger-soft px-1.5 py-0.5 text-xs font-medium text-danger">Failed</span>
                  ) : null}
                </td>
                <td className="hidden px-4 py-2 text-text-muted sm:table-cell">{event.ip ?? "Unknown"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  );
}
