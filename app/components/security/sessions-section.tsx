import { Card } from "~/components/ui/card";
import { Form } from "@remix-run/react";
import { Fragment } from "react";
import { RevocableTable, RevokeForm } from "~/components/revocable-table";
import { formatDate } from "~/lib/format";
import { CsrfInput } from "~/components/csrf-input";
import { Button } from "~/components/ui/button";

export interface SessionRow {
  key: string;
  device: string;
  ip: string | null;
  createdAt: string;
  lastSeenAt: string;
  current: boolean;
}

/** Where the user is logged in, with a way to end any other login. */
export function SessionsSection({ sessions, idleDays, absoluteDays }: { sessions: SessionRow[]; idleDays: number; absoluteDays: number }) {
  const others = sessions.filter((session) => !session.current).length;
  return (
    <Card as="section" padding="none" className="overflow-hidden" aria-labelledby="sessions-heading">
      <div className="flex flex-wrap items-start justify-between gap-3 p-6 pb-4">
        <div>
          <h2 id="sessions-heading" className="text-lg font-semibold">
            Sessions
          </h2>
          <p className="mt-1 text-sm text-text-muted">
            Browsers where you are logged in. A login ends after {idleDays} days without use, and {absoluteDays} days after it started. If
            you do not recognise one, log it out and change your password.
          </p>
        </div>
        {others > 0 ? (
          <Form method="post">
            <CsrfInput />
            <input type="hidden" name="intent" value="revoke-other-sessions" />
            <Button variant="secondary" type="submit">
              Log out all other sessions
            </Button>
          </Form>
        ) : null}
      </div>
      <RevocableTable
        columns={[
          { label: "Device" },
          { label: "IP address", hideBelow: "sm", tone: "text-text-muted" },
          { label: "Last active", tone: "text-text-muted" },
          { label: "Signed in", hideBelow: "md", tone: "text-text-muted" },
          { label: "Actions" },
        ]}
        rows={sessions.map((session) => ({
          key: session.key,
          cells: [
            <Fragment key="device">
              {session.device}
              {session.current ? (
                <span className="ml-2 rounded bg-success-soft px-1.5 py-0.5 text-xs font-medium text-success">This device</span>
              ) : null}
            </Fragment>,
            session.ip ?? "Unknown",
            session.current ? "Now" : formatDate(session.lastSeenAt),
            formatDate(session.createdAt),
            session.current ? (
              <span key="action" className="text-text-muted">
                Use “Log out” above
              </span>
            ) : (
              <RevokeForm
                key="action"
                intent="revoke-session"
                name="session"
                value={session.key}
                label="Log out"
                which={`${session.device} last active ${formatDate(session.lastSeenAt)}`}
              />
            ),
          ],
        }))}
      />
    </Card>
  );
}
