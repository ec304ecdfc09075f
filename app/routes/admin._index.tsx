import { redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { z } from "zod";
import { FormMessage } from "~/components/field";
import { UsageMeter } from "~/components/usage-meter";
import { listUsersForAdmin, setUserQuota, setUserRole } from "~/domain/admin/admin.server";
import { auditActor } from "~/domain/audit/audit.server";
import { contentSearchStatus } from "~/domain/search/content-index.server";
import { lockStatus, unlockAccount } from "~/domain/accounts/lockout.server";
import { requireAdmin, restartSessions } from "~/domain/accounts/sessions.server";
import { formatBytes, formatDate } from "~/lib/format";
import { actionFailure, actionSuccess, retryAfterHeaders } from "~/route-helpers/http.server";
import { field, formValues, parseFormData, readForm } from "~/route-helpers/forms.server";
import { asId } from "~/route-helpers/params.server";
import { CsrfInput } from "~/components/csrf-input";

export const meta: MetaFunction = () => [{ title: "Admin · Coffer" }];
export const headers = retryAfterHeaders;

/** What the account pages redirect back with (PRG); fixed texts, so a crafted link cannot put words here. */
const DONE_MESSAGES: Record<string, string> = {
  deactivated: "The account was deactivated: its sessions ended and its share links stopped working. Its files are kept.",
  reactivated: "The account was reactivated: its owner can sign in again.",
  deleted: "The account and its files were deleted.",
  "deleted-given": "The account was deleted; its files were given to the person you chose.",
};

export async function loader({ request, context }: LoaderFunctionArgs) {
  const admin = await requireAdmin(context.services, request);
  const done = DONE_MESSAGES[new URL(request.url).searchParams.get("done") ?? ""] ?? null;
  const { users: rows, settings } = await listUsersForAdmin(context.services);
  const locks = await Promise.all(rows.map((user) => lockStatus(context.services, user.email)));
  const users = rows.map((user, index) => ({
    ...user,
    failedLogins: locks[index].failures,
    lockedUntil: locks[index].lockedUntil?.toISOString() ?? null,
    deactivatedAt: user.deactivatedAt?.toISOString() ?? null,
    self: user.id === admin.id,
  }));
  return { users, defaultQuotaBytes: settings.defaultQuotaBytes, done, contentSearch: await contentSearchStatus(context.services) };
}

const adminForm = z.object({
  intent: field.oneOf(["unlock", "set-role", "set-quota"]),
  userId: field.text(),
  quota: field.text(100),
  role: field.text(100),
});

export async function action({ request, context }: ActionFunctionArgs) {
  const { services } = context;
  const admin = await requireAdmin(services, request);
  const audit = auditActor(request, context.clientIp, admin);
  // The row whose form failed gets the message and keeps the quota typed into it.
  let sent = { userId: "", quota: "" };
  try {
    const form = await readForm(request);
    const values = formValues(form);
    sent = { userId: typeof values.userId === "string" ? values.userId : "", quota: typeof values.quota === "string" ? values.quota : "" };
    const { intent, quota, role } = parseFormData(form, adminForm);
    const userId = asId(sent.userId, "That account");
    if (intent === "unlock") {
      const { name } = await unlockAccount(services, audit, userId);
      return actionSuccess(`${name} can log in again.`, { userId });
    }
    if (intent === "set-role") {
      const result = await setUserRole(services, admin, userId, role, audit);
      // Someone who stepped down can no longer see this page.
      if (userId === admin.id && result.changed) {
        // A privilege change rotates the session id (the other sessions of this admin end).
        const cookie = await restartSessions(services, admin.id, request, context.clientIp);
        return redirect(result.role === "USER" ? "/files" : "/admin", { headers: { "Set-Cookie": cookie } });
      }
      const what = result.role === "ADMIN" ? "an administrator" : "a regular user";
      const message = result.changed ? `${result.name} is now ${what}.` : `${result.name} already is ${what}.`;
      return actionSuccess(message, { userId });
    }
    const result = await setUserQuota(services, admin, userId, quota, audit);
    const message =
      result.quotaBytes === null
        ? `${result.name} now has the default quota.`
        : `${result.name} may now store ${formatBytes(result.quotaBytes)}.`;
    return actionSuccess(message, { userId });
  } catch (error) {
    return actionFailure(error, sent);
  }
}

function formatTime(iso: string): string {
  return new Date(iso).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" }) + " UTC";
}

function quotaLabel(override: number | null, defaultQuota: number | null): string {
  if (override !== null) return formatBytes(override);
  return defaultQuota === null ? "Unlimited" : `Default (${formatBytes(defaultQuota)})`;
}

export default function Admin() {
  const { users, defaultQuotaBytes, done, contentSearch } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const busy = useNavigation().state === "submitting";
  const totalBytes = users.reduce((sum, user) => sum + user.bytesUsed, 0);
  const adminCount = users.filter((user) => user.role === "ADMIN" && !user.deactivatedAt).length;
  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-start justify-between gap-4">
        <div>
          <h1 className="text-2xl font-semibold">Administration</h1>
          <p className="mt-1 text-sm text-slate-600">
            {users.length} account{users.length === 1 ? "" : "s"} · {formatBytes(totalBytes)} stored in all · default quota{" "}
            {defaultQuotaBytes === null ? "unlimited" : formatBytes(defaultQuotaBytes)}
          </p>
          <p className="mt-1 text-sm text-slate-600" data-testid="content-search-status">
            {!contentSearch.enabled
              ? "Search inside files is off (SEARCH_CONTENT=false): files are found by name only."
              : contentSearch.pdfText
                ? "Search inside files is on, PDFs included."
                : "Search inside files is on, but PDFs are found by name only: install pdftotext (Debian package poppler-utils) on the server."}
          </p>
        </div>
        <nav aria-label="Administration" className="flex gap-2">
          <Link to="/admin/settings" className="btn-secondary">
            Settings
          </Link>
          <Link to="/admin/audit" className="btn-secondary">
            Audit log
          </Link>
        </nav>
      </div>
      <FormMessage message={result?.message ?? done} tone={result ? (result.ok ? "success" : "error") : "success"} />
      <section aria-labelledby="users-heading" className="card overflow-x-auto">
        <h2 id="users-heading" className="border-b border-slate-200 px-4 py-3 font-semibold">
          Users
        </h2>
        <table className="w-full text-left text-sm">
          <thead className="bg-slate-50 text-slate-700">
            <tr>
              <th scope="col" className="px-4 py-2 font-medium">
                Name
              </th>
              <th scope="col" className="px-4 py-2 font-medium">
                Email
              </th>
              <th scope="col" className="px-4 py-2 font-medium">
                Role
              </th>
              <th scope="col" className="px-4 py-2 text-right font-medium">
                Files
              </th>
              <th scope="col" className="px-4 py-2 text-right font-medium whitespace-nowrap">
                Storage used
              </th>
              <th scope="col" className="px-4 py-2 font-medium">
                Quota
              </th>
              <th scope="col" className="px-4 py-2 font-medium">
                Sign-in
              </th>
              <th scope="col" className="hidden px-4 py-2 font-medium md:table-cell">
                Joined
              </th>
              <th scope="col" className="px-4 py-2 font-medium">
                Account
              </th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {users.map((user) => {
              const failed = result && !result.ok && result.userId === user.id ? result : null;
              const inputId = `quota-${user.id}`;
              const errorId = `${inputId}-error`;
              const hintId = `${inputId}-hint`;
              return (
                <tr key={user.id} data-testid="admin-user-row" className="align-top">
                  <td className="px-4 py-2">{user.name}</td>
                  <td className="px-4 py-2 break-all">{user.email}</td>
                  <td className="px-4 py-2">
                    <p data-testid="role">{user.role === "ADMIN" ? "Admin" : "User"}</p>
                    {user.role === "ADMIN" && adminCount === 1 && !user.deactivatedAt ? (
                      <p className="mt-2 text-xs text-slate-600">
                        The only administrator: make someone else an admin before stepping down.
                      </p>
                    ) : (
                      <Form method="post" className="mt-2" aria-label={`Role of ${user.name}`}>
                        <CsrfInput />
                        <input type="hidden" name="intent" value="set-role" />
                        <input type="hidden" name="userId" value={user.id} />
                        <input type="hidden" name="role" value={user.role === "ADMIN" ? "USER" : "ADMIN"} />
                        <button type="submit" className="btn-secondary whitespace-nowrap" disabled={busy}>
                          {user.role === "ADMIN" ? "Make regular user" : "Make admin"}
                          <span className="sr-only"> ({user.name})</span>
                        </button>
                      </Form>
                    )}
                  </td>
                  <td className="px-4 py-2 text-right">{user.fileCount}</td>
                  <td className="px-4 py-2 text-right whitespace-nowrap" data-testid="storage-used">
                    {formatBytes(user.bytesUsed)}
                  </td>
                  <td className="px-4 py-2">
                    <p data-testid="quota">{quotaLabel(user.quotaOverride, defaultQuotaBytes)}</p>
                    <div className="mt-1">
                      <UsageMeter usedBytes={user.countedBytes} quotaBytes={user.effectiveQuota} />
                    </div>
                    <Form method="post" className="mt-2 max-w-64" aria-label={`Quota override for ${user.name}`}>
                      <CsrfInput />
                      <input type="hidden" name="intent" value="set-quota" />
                      <input type="hidden" name="userId" value={user.id} />
                      <label htmlFor={inputId} className="sr-only">
                        Quota for {user.name}
                      </label>
                      <div className="flex items-center gap-2">
                        <input
                          id={inputId}
                          name="quota"
                          className="input w-32"
                          placeholder="Default"
                          defaultValue={failed ? failed.quota : user.quotaInput}
                          key={failed ? "typed" : String(user.quotaOverride)}
                          aria-invalid={failed?.fieldErrors.quota ? true : undefined}
                          aria-describedby={failed?.fieldErrors.quota ? `${errorId} ${hintId}` : hintId}
                          autoComplete="off"
                        />
                        <button type="submit" className="btn-secondary whitespace-nowrap" disabled={busy}>
                          Set quota
                        </button>
                      </div>
                      <p id={hintId} className="sr-only">
                        A size such as 10GiB; leave empty to use the default quota.
                      </p>
                      {failed?.fieldErrors.quota ? (
                        <p id={errorId} className="field-error">
                          {failed.fieldErrors.quota}
                        </p>
                      ) : null}
                    </Form>
                  </td>
                  <td className="px-4 py-2" data-testid="sign-in">
                    {user.deactivatedAt ? (
                      <p className="font-medium text-red-800" data-testid="deactivated">
                        Deactivated since {formatDate(user.deactivatedAt)}
                      </p>
                    ) : user.lockedUntil ? (
                      <p className="text-red-800">Locked until {formatTime(user.lockedUntil)}</p>
                    ) : user.failedLogins > 0 ? (
                      <p>
                        {user.failedLogins} failed login{user.failedLogins === 1 ? "" : "s"}
                      </p>
                    ) : (
                      <p className="text-slate-600">OK</p>
                    )}
                    {user.lockedUntil || user.failedLogins > 0 ? (
                      <Form method="post" className="mt-1">
                        <CsrfInput />
                        <input type="hidden" name="intent" value="unlock" />
                        <input type="hidden" name="userId" value={user.id} />
                        <button type="submit" className="btn-secondary" disabled={busy} aria-label={`Unlock ${user.name}`}>
                          Unlock
                        </button>
                      </Form>
                    ) : null}
                  </td>
                  <td className="hidden px-4 py-2 md:table-cell">{formatDate(user.createdAt)}</td>
                  <td className="px-4 py-2">
                    {user.self ? (
                      <p className="text-xs text-slate-600">
                        You. Delete your own account in{" "}
                        <Link to="/settings/privacy" className="text-blue-800 underline">
                          Privacy
                        </Link>
                        .
                      </p>
                    ) : (
                      <div className="flex flex-col items-start gap-1">
                        <Link to={`/admin/users/${user.id}/status`} className="btn-secondary whitespace-nowrap">
                          {user.deactivatedAt ? "Reactivate…" : "Deactivate…"}
                          <span className="sr-only"> {user.name}</span>
                        </Link>
                        <Link to={`/admin/users/${user.id}/delete`} className="btn-secondary whitespace-nowrap text-red-800">
                          Delete…<span className="sr-only"> {user.name}</span>
                        </Link>
                      </div>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </section>
    </div>
  );
}
