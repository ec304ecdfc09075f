import { Form, Link } from "@remix-run/react";
import { CsrfInput } from "~/components/csrf-input";
import { UsageMeter } from "~/components/usage-meter";
import { formatBytes, formatDate } from "~/lib/format";
import { Button, ButtonLink } from "~/components/ui/button";

/** One account as the admin page lists it. */
export interface AdminUser {
  id: string;
  name: string;
  email: string;
  role: string;
  fileCount: number;
  bytesUsed: number;
  countedBytes: number;
  effectiveQuota: number | null;
  quotaOverride: number | null;
  quotaInput: string;
  failedLogins: number;
  lockedUntil: string | null;
  deactivatedAt: string | null;
  createdAt: string | Date;
  self: boolean;
}

/** A form of this row that failed: the quota as typed, and the errors to show beside it. */
export interface FailedRowForm {
  quota: string;
  fieldErrors: Record<string, string | undefined>;
}

/** A row of the users table: the account, its role, quota and sign-in state, each with its form. */
export function UserRow({
  user,
  defaultQuotaBytes,
  adminCount,
  failed,
  busy,
}: {
  user: AdminUser;
  defaultQuotaBytes: number | null;
  adminCount: number;
  failed: FailedRowForm | null;
  busy: boolean;
}) {
  const inputId = `quota-${user.id}`;
  const errorId = `${inputId}-error`;
  const hintId = `${inputId}-hint`;
  return (
    <tr data-testid="admin-user-row" className="align-top">
      <td className="px-4 py-2">{user.name}</td>
      <td className="px-4 py-2 whitespace-nowrap">{user.email}</td>
      <td className="px-4 py-2">
        <p data-testid="role">{user.role === "ADMIN" ? "Admin" : "User"}</p>
        {user.role === "ADMIN" && adminCount === 1 && !user.deactivatedAt ? (
          <p className="mt-2 text-xs text-text-muted">The only administrator: make someone else an admin before stepping down.</p>
        ) : (
          <Form method="post" className="mt-2" aria-label={`Role of ${user.name}`}>
            <CsrfInput />
            <input type="hidden" name="intent" value="set-role" />
            <input type="hidden" name="userId" value={user.id} />
            <input type="hidden" name="role" value={user.role === "ADMIN" ? "USER" : "ADMIN"} />
            <Button variant="secondary" type="submit" disabled={busy} className="whitespace-nowrap">
              {user.role === "ADMIN" ? "Make regular user" : "Make admin"}
              <span className="sr-only"> ({user.name})</span>
            </Button>
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
            <Button variant="secondary" type="submit" disabled={busy} className="whitespace-nowrap">
              Set quota
            </Button>
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
          <p className="font-medium text-danger" data-testid="deactivated">
            Deactivated since {formatDate(user.deactivatedAt)}
          </p>
        ) : user.lockedUntil ? (
          <p className="text-danger">Locked until {formatTime(user.lockedUntil)}</p>
        ) : user.failedLogins > 0 ? (
          <p>
            {user.failedLogins} failed login{user.failedLogins === 1 ? "" : "s"}
          </p>
        ) : (
          <p className="text-text-muted">OK</p>
        )}
        {user.lockedUntil || user.failedLogins > 0 ? (
          <Form method="post" className="mt-1">
            <CsrfInput />
            <input type="hidden" name="intent" value="unlock" />
            <input type="hidden" name="userId" value={user.id} />
            <Button variant="secondary" type="submit" disabled={busy} aria-label={`Unlock ${user.name}`}>
              Unlock
            </Button>
          </Form>
        ) : null}
      </td>
      <td className="hidden px-4 py-2 md:table-cell">{formatDate(user.createdAt)}</td>
      <td className="px-4 py-2">
        {user.self ? (
          <p className="text-xs text-text-muted">
            You. Delete your own account in{" "}
            <Link to="/settings/privacy" className="text-accent-text underline">
              Privacy
            </Link>
            .
          </p>
        ) : (
          <div className="flex flex-col items-start gap-1">
            <ButtonLink variant="secondary" to={`/admin/users/${user.id}/status`} className="whitespace-nowrap">
              {user.deactivatedAt ? "Reactivate…" : "Deactivate…"}
              <span className="sr-only"> {user.name}</span>
            </ButtonLink>
            <ButtonLink variant="secondary" to={`/admin/users/${user.id}/delete`} className="whitespace-nowrap text-danger">
              Delete…<span className="sr-only"> {user.name}</span>
            </ButtonLink>
          </div>
        )}
      </td>
    </tr>
  );
}

function formatTime(iso: string): string {
  return new Date(iso).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" }) + " UTC";
}

function quotaLabel(override: number | null, defaultQuota: number | null): string {
  if (override !== null) return formatBytes(override);
  return defaultQuota === null ? "Unlimited" : `Default (${formatBytes(defaultQuota)})`;
}
