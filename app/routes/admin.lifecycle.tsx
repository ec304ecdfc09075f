import { Card } from "~/components/ui/card";
import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { AdminHeader } from "~/components/admin/admin-nav";
import { lifecycleOverview } from "~/domain/admin/lifecycle.server";
import { formatBytes, formatDate } from "~/lib/format";
import { requireAdmin } from "~/route-helpers/guards.server";

export const meta: MetaFunction = () => [{ title: "Lifecycle · Admin · Coffer" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireAdmin(context.services, request);
  const rules = await lifecycleOverview(context.services);
  return {
    rules: rules.map((rule) => ({
      ...rule,
      lastRun: rule.lastRun && { finishedAt: rule.lastRun.finishedAt.toISOString(), removed: rule.lastRun.removed },
    })),
  };
}

const count = (n: number, one: string, many: string) => `${n.toLocaleString("en")} ${n === 1 ? one : many}`;

/** What a run removed, in words: "Removed 4 versions of 2 files (3.9 KiB)." */
function describeRemoved(rule: string, removed: Record<string, number>): string {
  if (Object.values(removed).every((n) => n === 0)) return "Nothing was due.";
  const n = (key: string) => removed[key] ?? 0;
  switch (rule) {
    case "versions":
      return `Removed ${count(n("versions"), "version", "versions")} of ${count(n("files"), "file", "files")} (${formatBytes(n("bytes"))}).`;
    case "trash":
      return `Removed ${count(n("items"), "item", "items")} (${count(n("objects"), "stored object", "stored objects")}).`;
    case "audit":
      return `Removed ${count(n("deleted"), "audit event", "audit events")}.`;
    default:
      return `Purged ${count(n("accounts"), "account", "accounts")} (${count(n("objects"), "stored object", "stored objects")}).`;
  }
}

export default function AdminLifecycle() {
  const { rules } = useLoaderData<typeof loader>();
  return (
    <div className="space-y-6">
      <AdminHeader title="Lifecycle" current="/admin/lifecycle">
        <p className="mt-1 text-sm text-text-muted">
          What Coffer deletes by itself, and what each hourly purge last removed. Every purge is recorded in the{" "}
          <Link to="/admin/audit" className="text-accent-text underline">
            audit log
          </Link>
          . Change the rules in{" "}
          <Link to="/admin/settings" className="text-accent-text underline">
            Settings
          </Link>
          .
        </p>
      </AdminHeader>
      <Card as="section" padding="none" className="overflow-x-auto" aria-labelledby="rules-heading">
        <h2 id="rules-heading" className="border-b border-border px-4 py-3 font-semibold">
          Rules
        </h2>
        <table className="w-full text-left text-sm">
          <thead className="bg-surface text-text-muted">
            <tr>
              <th scope="col" className="px-4 py-2 font-medium">
                What
              </th>
              <th scope="col" className="px-4 py-2 font-medium">
                Rule
              </th>
              <th scope="col" className="px-4 py-2 font-medium">
                Last purge
              </th>
            </tr>
          </thead>
          <tbody className="divide-y divide-border">
            {rules.map((rule) => (
              <tr key={rule.rule} data-testid={`lifecycle-${rule.rule}`} className="align-top">
                <th scope="row" className="px-4 py-2 font-medium">
                  {rule.title}
                </th>
                <td className="px-4 py-2">
                  <p>{rule.setting}</p>
                  {rule.waiting !== null ? (
                    <p className="text-text-muted">
                      {rule.waiting === 0 ? "No deleted account is waiting. " : `${rule.waiting} waiting to be purged: `}
                      <Link to="/admin/users" className="text-accent-text underline">
                        see Deleted accounts on the users page
                      </Link>
                      .
                    </p>
                  ) : null}
                </td>
                <td className="px-4 py-2">
                  {rule.lastRun ? (
                    <>
                      <p>{formatDate(rule.lastRun.finishedAt)}</p>
                      <p className="text-text-muted">{describeRemoved(rule.rule, rule.lastRun.removed)}</p>
                    </>
                  ) : (
                    <p className="text-text-muted">Not run yet.</p>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Card>
    </div>
  );
}
