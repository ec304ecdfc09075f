import { Card } from "~/components/ui/card";
import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { FileIcon, FolderIcon } from "~/components/icons";
import { requireUser } from "~/route-helpers/guards.server";
import { listSharedWithMe } from "~/domain/sharing/user-shares.server";
import { formatBytes, formatDate } from "~/lib/format";
import { TableHead } from "~/components/table-head";

export const meta: MetaFunction = () => [{ title: "Shared with me · Coffer" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const user = await requireUser(context.services, request);
  return { items: await listSharedWithMe(context.services, user) };
}

export default function SharedWithMe() {
  const { items } = useLoaderData<typeof loader>();
  return (
    <div className="space-y-6">
      <div>
        <h1 className="text-2xl font-semibold">Shared with me</h1>
        <p className="mt-1 text-sm text-text-muted">Files and folders other people shared with your account.</p>
      </div>
      {items.length === 0 ? (
        <Card padding="none" className="p-10 text-center">
          <p className="font-medium">Nothing has been shared with you yet.</p>
          <p className="mt-1 text-sm text-text-muted">When someone shares a file or folder with your email address, it appears here.</p>
        </Card>
      ) : (
        <Card padding="none" className="overflow-x-auto">
          <table className="w-full text-left text-sm">
            <TableHead
              columns={[
                { label: "Name" },
                { label: "Owner" },
                { label: "Permission" },
                { label: "Size", hideBelow: "sm" },
                { label: "Shared", hideBelow: "md" },
              ]}
            />
            <tbody className="divide-y divide-border">
              {items.map((item) => (
                <tr key={item.id}>
                  <td className="px-4 py-2">
                    {item.kind === "folder" ? (
                      <Link to={`/files/${item.itemId}`} className="flex items-center gap-2 font-medium text-accent-text hover:underline">
                        <FolderIcon />
                        <span className="break-all">{item.name}</span>
                      </Link>
                    ) : (
                      <a href={`/download/${item.itemId}`} download className="flex items-center gap-2 text-accent-text hover:underline">
                        <FileIcon />
                        <span className="break-all">{item.name}</span>
                      </a>
                    )}
                  </td>
                  <td className="px-4 py-2">{item.owner.name}</td>
                  <td className="px-4 py-2">{item.permission === "WRITE" ? "Can view and add files" : "Can view"}</td>
                  <td className="hidden px-4 py-2 text-text-muted sm:table-cell">
                    {item.size === null ? "Folder" : formatBytes(item.size)}
                  </td>
                  <td className="hidden px-4 py-2 text-text-muted md:table-cell">{formatDate(item.sharedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Card>
      )}
    </div>
  );
}
