import { Form } from "@remix-run/react";
import { TableHead } from "~/components/table-head";
import { formatDate } from "~/lib/format";
import { CsrfInput } from "~/components/csrf-input";

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
    <section aria-labelledby="sessions-heading" className="card overflow-hidden">
      <div className="flex flex-wrap items-start justify-between gap-3 p-6 pb-4">
        <div>
          <h2 id="sessions-heading" className="text-lg font-semibold">
            Sessions
          </h2>
          <p className="mt-1 text-sm text-slate-600">
            Browsers where you are logged in. A login ends after {idleDays} days without use, and {absoluteDays} days after it started. If
            you do not recognise one, log it out and change your password.
          </p>
        </div>
        {others > 0 ? (
          <Form method="post">
            <CsrfInput />
            <input type="hidden" name="intent" value="revoke-other-sessions" />
            <button type="submit" className="btn-secondary">
              Log out all other sessions
            </button>
          </Form>
        ) : null}
      </div>
      <table className="w-full text-left text-sm">
        <TableHead
          columns={[
            { label: "Device" },
            { label: "IP address", hideBelow: "sm" },
            { label: "Last active" },
            { label: "Signed in", hideBelow: "md" },
            { label: "Actions" },
          ]}
        />
        <tbody className="divide-y divide-slate-100">
          {sessions.map((session) => (
            <tr key={session.key}>
              <td className="px-4 py-2">
                {session.device}
                {session.current ? (
                  <span className="ml-2 rounded bg-green-100 px-1.5 py-0.5 text-xs font-medium text-green-800">This device</span>
                ) : null}
              </td>
              <td className="hidden px-4 py-2 text-slate-700 sm:table-cell">{session.ip ?? "Unknown"}</td>
              <td className="px-4 py-2 text-slate-700">{session.current ? "Now" : formatDate(session.lastSeenAt)}</td>
              <td className="hidden px-4 py-2 text-slate-600 md:table-cell">{formatDate(session.createdAt)}</td>
              <td className="px-4 py-2">
                {session.current ? (
                  <span className="text-slate-500">Use “Log out” above</span>
                ) : (
                  <Form method="post">
                    <CsrfInput />
                    <input type="hidden" name="intent" value="revoke-session" />
                    <input type="hidden" name="session" value={session.key} />
                    <button type="submit" className="btn-secondary">
                      Log out
                      <span className="sr-only">
                        {" "}
                        {session.device} last active {formatDate(session.lastSeenAt)}
                      </span>
                    </button>
                  </Form>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
