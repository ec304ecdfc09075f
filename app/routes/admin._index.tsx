import { redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { AdminNav } from "~/components/admin/admin-nav";
import { useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { z } from "zod";
import { FormMessage } from "~/components/field";
import { UserRow } from "~/components/admin/user-row";
import { DeletedAccounts } from "~/components/admin/deleted-accounts";
import { BackupLine } from "~/components/admin/system/backups-section";
import { backupStatus } from "~/domain/backup/status.server";
import { listUsersForAdmin, setUserQuota, setUserRole } from "~/domain/admin/admin.server";
import { auditActor } from "~/domain/audit/audit.server";
import { contentSearchStatus } from "~/domain/search/content-index.server";
import { lockStatus, unlockAccount } from "~/domain/accounts/lockout.server";
import { restartSessions } from "~/domain/accounts/sessions.server";
import { sendAnnouncement } from "~/domain/admin/announcements.server";
import { AnnouncementForm } from "~/components/admin/announcement-form";
import { requireAdmin } from "~/route-helpers/guards.server";
import { formatBytes } from "~/lib/format";
import { actionFailure, actionSuccess, retryAfterHeaders } from "~/route-helpers/http.server";
import { field, formValues, parseFormData, readForm, parseQuery } from "~/route-helpers/forms.server";
import { asId } from "~/route-helpers/params.server";

export const meta: MetaFunction = () => [{ title: "Admin · Coffer" }];
export const headers = retryAfterHeaders;

/** What the account pages redirect back with (PRG); fixed texts, so a crafted link cannot put words here. */
const DONE_MESSAGES: Record<string, string> = {
  deactivated: "The account was deactivated: its sessions ended and its share links stopped working. Its files are kept.",
  reactivated: "The account was reactivated: its owner can sign in again.",
  deleted: "The account and its files were deleted.",
  "deleted-given": "The account was deleted; its files were given to the person you chose.",
  purged: "The deleted account and its files were purged.",
  restored: "The account was restored: its owner can sign in again.",
  "restored-deactivated": "The account was restored. It stays deactivated, as it was before it was deleted.",
};

/** Said after a deletion when deleted accounts are kept for a while. */
const RESTORABLE = (days: number) => ` It can be restored under Deleted accounts for ${days} day${days === 1 ? "" : "s"}.`;

export async function loader({ request, context }: LoaderFunctionArgs) {
  const admin = await requireAdmin(context.services, request);
  const doneCode = parseQuery(request, z.object({ done: field.hint(40) })).done ?? "";
  const { users: all, settings } = await listUsersForAdmin(context.services);
  const graceDays = settings.deletedAccountRetentionDays;
  const kept = graceDays > 0 && (doneCode === "deleted" || doneCode === "deleted-given");
  const done = Object.hasOwn(DONE_MESSAGES, doneCode) ? DONE_MESSAGES[doneCode] + (kept ? RESTORABLE(graceDays) : "") : null;
  // Deleted accounts waiting for their purge are listed apart: they can only be restored or purged.
  const rows = all.filter((user) => !user.deletedAt);
  const deleted = all.flatMap((user) =>
    user.deletedAt && user.purgeAfter
      ? [
          {
            id: user.id,
            name: user.name,
            email: user.email,
            bytesUsed: user.bytesUsed,
            deletedAt: user.deletedAt.toISOString(),
            purgeAfter: user.purgeAfter.toISOString(),
          },
        ]
      : [],
  );
  const locks = await Promise.all(rows.map((user) => lockStatus(context.services, user.email)));
  const users = rows.map((user, index) => ({
    ...user,
    failedLogins: locks[index].failures,
    lockedUntil: locks[index].lockedUntil?.toISOString() ?? null,
    deactivatedAt: user.deactivatedAt?.toISOString() ?? null,
    deletedAt: null,
    purgeAfter: null,
    self: user.id === admin.id,
  }));
  return {
    users,
    deleted,
    graceDays,
    defaultQuotaBytes: settings.defaultQuotaBytes,
    done,
    contentSearch: await contentSearchStatus(context.services),
    backups: await backupStatus(context.services),
  };
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
    if (values.intent === "announce") {
      try {
        const sentAnnouncement = await sendAnnouncement(services, admin, { title: values.title, body: values.body }, audit);
        return actionSuccess(`Announcement “${sentAnnouncement.title}” sent to every active account.`, { announcement: true });
      } catch (error) {
        return actionFailure(error, { announcement: true, title: String(values.title ?? ""), body: String(values.body ?? "") });
      }
    }
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

export default function Admin() {
  const { users, deleted, graceDays, defaultQuotaBytes, done, contentSearch, backups } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const busy = useNavigation().state === "submitting";
  const totalBytes = users.reduce((sum, user) => sum + user.bytesUsed, 0);
  const adminCount = users.filter((user) => user.role === "ADMIN" && !user.deactivatedAt).length;
  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-start justify-between gap-4">
        <div>
          <h1 className="text-2xl font-semibold">Administration</h1>
          <p className="mt-1 text-sm text-text-muted">
            {users.length} account{users.length === 1 ? "" : "s"} · {formatBytes(totalBytes)} stored in all · default quota{" "}
            {defaultQuotaBytes === null ? "unlimited" : formatBytes(defaultQuotaBytes)}
          </p>
          <p className="mt-1 text-sm text-text-muted" data-testid="content-search-status">
            {!contentSearch.enabled
              ? "Search inside files is off (SEARCH_CONTENT=false): files are found by name only."
              : contentSearch.pdfText
                ? "Search inside files is on, PDFs included."
                : "Search inside files is on, but PDFs are found by name only: install pdftotext (Debian package poppler-utils) on the server."}
          </p>
          <BackupLine status={backups} />
        </div>
        <AdminNav current="/admin" />
      </div>
      <FormMessage message={result?.message ?? done} tone={result ? (result.ok ? "success" : "error") : "success"} />
      <section aria-labelledby="users-heading" className="card overflow-x-auto">
        <h2 id="users-heading" className="border-b border-border px-4 py-3 font-semibold">
          Users
        </h2>
        <table className="w-full text-left text-sm">
          <thead className="bg-surface text-text-muted">
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
          <tbody className="divide-y divide-border">
            {users.map((user) => (
              <UserRow
                key={user.id}
                user={user}
                defaultQuotaBytes={defaultQuotaBytes}
                adminCount={adminCount}
                failed={result && !result.ok && "userId" in result && result.userId === user.id ? result : null}
                busy={busy}
              />
            ))}
          </tbody>
        </table>
      </section>
      {deleted.length > 0 || graceDays > 0 ? <DeletedAccounts accounts={deleted} graceDays={graceDays} /> : null}
      <AnnouncementForm result={result && "announcement" in result ? result : null} busy={busy} />
    </div>
  );
}
