import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { requireAdmin } from "~/domain/sessions.server";
import { listUsersWithUsage } from "~/domain/users.server";
import { formatBytes, formatDate } from "~/lib/format";

export const meta: MetaFunction = () => [{ title: "Admin · Coffer" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireAdmin(context.services, request);
  const users = await listUsersWithUsage(context.services);
  return { users };
}

export default function Admin() {
  const { users } = useLoaderData<typeof loader>();
  const totalBytes = users.reduce((sum, user) => sum + user.bytesUsed, 0);
  return (
    <div className="space-y-6">
      <div>
        <h1 className="text-2xl font-semibold">Administration</h1>
        <p className="mt-1 text-sm text-slate-600">
          {users.length} account{users.length === 1 ? "" : "s"} · {formatBytes(totalBytes)} stored in all
        </p>
      </div>
      <section aria-labelledby="users-heading" className="card overflow-x-auto">
        <h2 id="users-heading" className="border-b border-slate-200 px-4 py-3 font-semibold">
          Users
        </h2>
        <table className="w-full text-left text-sm">
          <thead className="bg-slate-50 text-slate-700">
            <tr>
              <th scope="col" className="px-4 py-2 font-medium">Name</th>
              <th scope="col" className="px-4 py-2 font-medium">Email</th>
              <th scope="col" className="px-4 py-2 font-medium">Role</th>
              <th scope="col" className="px-4 py-2 text-right font-medium">Files</th>
              <th scope="col" className="px-4 py-2 text-right font-medium">Storage used</th>
              <th scope="col" className="hidden px-4 py-2 font-medium md:table-cell">Joined</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {users.map((user) => (
              <tr key={user.id} data-testid="admin-user-row">
                <td className="px-4 py-2">{user.name}</td>
                <td className="px-4 py-2 break-all">{user.email}</td>
                <td className="px-4 py-2">{user.role === "ADMIN" ? "Admin" : "User"}</td>
                <td className="px-4 py-2 text-right">{user.fileCount}</td>
                <td className="px-4 py-2 text-right whitespace-nowrap" data-testid="storage-used">{formatBytes(user.bytesUsed)}</td>
                <td className="hidden px-4 py-2 md:table-cell">{formatDate(user.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </div>
  );
}
