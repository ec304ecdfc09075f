import { Card } from "~/components/ui/card";
import { formatBytes, formatDate } from "~/lib/format";
import { ButtonLink } from "~/components/ui/button";

/** An account deleted within the grace period, as the admin pages list it. */
export interface DeletedAccount {
  id: string;
  name: string;
  email: string;
  bytesUsed: number;
  deletedAt: string;
  /** When the hourly job purges it (the grace period may have been changed since the deletion). */
  purgeAfter: string;
}

/** Deleted accounts that can still be restored, each with its restore and purge-now links. */
export function DeletedAccounts({ accounts, graceDays }: { accounts: DeletedAccount[]; graceDays: number }) {
  return (
    <Card as="section" padding="none" className="overflow-x-auto" aria-labelledby="deleted-accounts-heading">
      <h2 id="deleted-accounts-heading" className="border-b border-border px-4 py-3 font-semibold">
        Deleted accounts
      </h2>
      <p className="px-4 pt-3 text-sm text-text-muted">
        {graceDays === 0
          ? "Deleted accounts are purged at once (see Settings)."
          : `A deleted account can be restored for ${graceDays} day${graceDays === 1 ? "" : "s"}; then it and its files are purged.`}
      </p>
      {accounts.length === 0 ? (
        <p className="px-4 py-3 text-sm">No deleted account is waiting to be purged.</p>
      ) : (
        <table className="mt-2 w-full text-left text-sm">
          <thead className="bg-surface text-text-muted">
            <tr>
              <th scope="col" className="px-4 py-2 font-medium">
                Name
              </th>
              <th scope="col" className="px-4 py-2 font-medium">
                Email
              </th>
              <th scope="col" className="px-4 py-2 text-right font-medium">
                Storage
              </th>
              <th scope="col" className="px-4 py-2 font-medium">
                Deleted
              </th>
              <th scope="col" className="px-4 py-2 font-medium">
                Purged after
              </th>
              <th scope="col" className="px-4 py-2 font-medium">
                Account
              </th>
            </tr>
          </thead>
          <tbody className="divide-y divide-border">
            {accounts.map((account) => (
              <tr key={account.id} data-testid="deleted-account-row">
                <td className="px-4 py-2">{account.name}</td>
                <td className="px-4 py-2 whitespace-nowrap">{account.email}</td>
                <td className="px-4 py-2 text-right whitespace-nowrap">{formatBytes(account.bytesUsed)}</td>
                <td className="px-4 py-2 whitespace-nowrap">{formatDate(account.deletedAt)}</td>
                <td className="px-4 py-2 whitespace-nowrap">{formatDate(account.purgeAfter)}</td>
                <td className="px-4 py-2">
                  <div className="flex flex-wrap gap-2">
                    <ButtonLink variant="secondary" to={`/admin/users/${account.id}/status`}>
                      Restore…<span className="sr-only"> {account.name}</span>
                    </ButtonLink>
                    <ButtonLink variant="secondary" to={`/admin/users/${account.id}/delete`}>
                      Purge now…<span className="sr-only"> {account.name}</span>
                    </ButtonLink>
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  );
}
