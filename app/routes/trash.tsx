import { redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { auditActor } from "~/domain/audit/audit.server";
import { FormMessage } from "~/components/field";
import { FileIcon, FolderIcon } from "~/components/icons";
import { getReadableItem, parseKind } from "~/domain/files/operations.server";
import { requireUser } from "~/domain/accounts/sessions.server";
import { getSettings } from "~/domain/admin/settings.server";
import { deleteForever, emptyTrash } from "~/domain/files/trash-purge.server";
import { getTrashedItem, listTrash, restoreItem, TRASH_PAGE_LIMIT, restoredInto, trashStateOf } from "~/domain/files/trash.server";
import { z } from "zod";
import { formatBytes, formatDate } from "~/lib/format";
import { field, parseForm } from "~/route-helpers/forms.server";
import { actionFailure } from "~/route-helpers/http.server";
import { asId } from "~/route-helpers/params.server";
import { TableHead } from "~/components/table-head";
import { CsrfInput } from "~/components/csrf-input";

export const meta: MetaFunction = () => [{ title: "Trash · Coffer" }];

/** Success messages after POST → redirect (`?done=<key>`), so a reload never repeats an action. */
const DONE_MESSAGES: Record<string, string> = {
  trashed: "Moved to the trash.",
  restored: "Restored.",
  deleted: "Deleted forever.",
  emptied: "The trash is empty now. Everything in it was deleted for good.",
};

function parseItemRef(raw: string | null): { kind: "file" | "folder"; id: string } | null {
  const match = /^(file|folder):([A-Za-z0-9_-]{1,100})$/.exec(raw ?? "");
  return match ? { kind: match[1] as "file" | "folder", id: match[2] } : null;
}

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { services } = context;
  const user = await requireUser(services, request);
  const url = new URL(request.url);
  const [items, settings] = await Promise.all([listTrash(services, user), getSettings(services)]);
  const done = url.searchParams.get("done");
  // After a restore, say where the item went (only if the user can still see it).
  let restored: { kind: "file" | "folder"; id: string; name: string; folderId: string; folderName: string; folderIsRoot: boolean } | null =
    null;
  const ref = parseItemRef(url.searchParams.get("item"));
  if (done === "restored" && ref) {
    const item = await getReadableItem(services, user, ref.kind, ref.id).catch(() => null);
    if (item) {
      const folderId = item.kind === "file" ? item.file.folderId : item.folder.parentId!;
      const folder = await restoredInto(services, folderId);
      restored = {
        kind: item.kind,
        id: ref.id,
        name: item.kind === "file" ? item.file.name : item.folder.name,
        folderId,
        folderName: !folder || folder.parentId === null ? "My files" : folder.name,
        folderIsRoot: !folder || folder.parentId === null,
      };
    }
  }
  // After trashing, name the item; a grantee's trashed item sits in its owner's trash, not here.
  let trashedNote: string | null = null;
  if (done === "trashed" && ref) {
    const row = await trashStateOf(services, ref.kind, ref.id);
    if (row?.trashedAt && row.ownerId === user.id) trashedNote = `Moved “${row.name}” to the trash.`;
    else if (row?.trashedAt) trashedNote = "Moved to the trash of its owner, who can restore it from there.";
  }
  // A form upload whose folder went to the trash while the file arrived went there with it.
  if (done === "uploaded-to-trash" && ref?.kind === "file") {
    const row = await trashStateOf(services, "file", ref.id);
    if (row?.trashedAt && row.ownerId === user.id) {
      trashedNote = `Uploaded “${row.name}”, but its folder was moved to the trash meanwhile, so the file is in the trash with it. Restore the folder to get both back.`;
    } else if (row?.trashedAt) {
      trashedNote =
        "Uploaded, but its folder was moved to its owner’s trash meanwhile, so the file is there with it. Ask the owner to restore the folder if you need it.";
    }
  }
  // "Delete forever" asks first (?confirm=delete&item=…); an item not in this user's trash is simply not offered.
  const confirmDelete =
    url.searchParams.get("confirm") === "delete" && ref ? await getTrashedItem(services, user, ref.kind, ref.id).catch(() => null) : null;
  return {
    items: items.map((item) => ({ ...item, trashedAt: item.trashedAt.toISOString() })),
    retentionDays: settings.trashRetentionDays,
    confirmEmpty: url.searchParams.get("confirm") === "empty",
    confirmDelete,
    done: trashedNote ?? (done && DONE_MESSAGES[done] ? DONE_MESSAGES[done] : null),
    restored,
    limit: TRASH_PAGE_LIMIT,
  };
}

const trashForm = z.object({
  intent: field.oneOf(["empty", "restore", "delete"]),
  kind: field.text(),
  id: field.text(),
  confirmed: field.text(),
});

export async function action({ request, context }: ActionFunctionArgs) {
  const { services } = context;
  const user = await requireUser(services, request);
  try {
    const form = await parseForm(request, trashForm);
    if (form.intent === "empty") {
      // Without the confirmation step's field, show the confirmation step instead.
      if (form.confirmed !== "yes") return redirect("/trash?confirm=empty");
      await emptyTrash(services, user, auditActor(request, context.clientIp, user));
      return redirect("/trash?done=emptied");
    }
    const kind = parseKind(form.kind);
    const id = asId(form.id);
    if (form.intent === "restore") {
      const result = await restoreItem(services, user, kind, id);
      return redirect(`/trash?done=restored&item=${result.kind}:${result.id}`);
    }
    // Like emptying the trash: without the confirmation step's field, show that step first.
    if (form.confirmed !== "yes") {
      const item = await getTrashedItem(services, user, kind, id);
      return redirect(`/trash?confirm=delete&item=${item.kind}:${item.id}`, 303);
    }
    await deleteForever(services, user, kind, id, auditActor(request, context.clientIp, user));
    return redirect("/trash?done=deleted");
  } catch (error) {
    return actionFailure(error);
  }
}

export default function Trash() {
  const { items, retentionDays, confirmEmpty, confirmDelete, done, restored, limit } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const navigation = useNavigation();
  const busy = navigation.state === "submitting" ? `${navigation.formData?.get("intent")}:${navigation.formData?.get("id") ?? ""}` : null;

  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-end justify-between gap-4">
        <div>
          <h1 className="text-2xl font-semibold">Trash</h1>
          <p className="mt-1 text-sm text-slate-600">
            Items in the trash are deleted for good {retentionDays} days after they were trashed.
          </p>
        </div>
        {items.length > 0 && !confirmEmpty ? (
          <Link to="?confirm=empty" className="btn-secondary border-red-300 text-red-800 hover:bg-red-50">
            Empty trash…
          </Link>
        ) : null}
      </div>

      <div aria-live="polite">
        {done ? (
          <p role="status" className="rounded-md border border-green-200 bg-green-50 px-3 py-2 text-sm text-green-800">
            {done}
            {restored ? (
              <>
                {" "}
                {restored.kind === "folder" ? (
                  <Link to={`/files/${restored.id}`} className="underline">
                    {restored.name}
                  </Link>
                ) : (
                  <Link to={`/details/file/${restored.id}`} className="underline">
                    {restored.name}
                  </Link>
                )}{" "}
                is back in{" "}
                <Link to={restored.folderIsRoot ? "/files" : `/files/${restored.folderId}`} className="underline">
                  {restored.folderName}
                </Link>
                .
              </>
            ) : null}
          </p>
        ) : null}
        <FormMessage message={result && !result.ok ? result.message : null} />
      </div>

      {confirmEmpty && items.length > 0 ? (
        <section aria-labelledby="confirm-heading" className="card border-red-300 p-4" aria-describedby="confirm-text">
          <h2 id="confirm-heading" className="text-lg font-semibold">
            Empty the trash?
          </h2>
          <p id="confirm-text" className="mt-2 text-sm text-slate-700">
            {items.length === 1
              ? "The item in the trash, with everything inside it and all its versions, will be deleted for good."
              : `All ${items.length} items in the trash, with everything inside them and all their versions, will be deleted for good.`}{" "}
            This cannot be undone.
          </p>
          <div className="mt-3 flex gap-2">
            <Form method="post">
              <CsrfInput />
              <input type="hidden" name="intent" value="empty" />
              <input type="hidden" name="confirmed" value="yes" />
              <button type="submit" className="btn-primary bg-red-700 hover:bg-red-800" disabled={busy === "empty:"}>
                {busy === "empty:" ? "Deleting…" : "Yes, delete everything for good"}
              </button>
            </Form>
            <Link to="/trash" className="btn-secondary">
              Keep them
            </Link>
          </div>
        </section>
      ) : null}

      {confirmDelete ? (
        <section aria-labelledby="confirm-delete-heading" className="card border-red-300 p-4" aria-describedby="confirm-delete-text">
          <h2 id="confirm-delete-heading" className="text-lg font-semibold break-all">
            {`Delete “${confirmDelete.name}” forever?`}
          </h2>
          <p id="confirm-delete-text" className="mt-2 text-sm text-slate-700">
            {confirmDelete.kind === "folder"
              ? "This folder, with everything inside it and all versions of its files, will be deleted for good."
              : "This file and all its earlier versions will be deleted for good."}{" "}
            This cannot be undone.
          </p>
          <div className="mt-3 flex gap-2">
            <Form method="post">
              <CsrfInput />
              <input type="hidden" name="intent" value="delete" />
              <input type="hidden" name="kind" value={confirmDelete.kind} />
              <input type="hidden" name="id" value={confirmDelete.id} />
              <input type="hidden" name="confirmed" value="yes" />
              <button type="submit" className="btn-primary bg-red-700 hover:bg-red-800" disabled={busy === `delete:${confirmDelete.id}`}>
                {busy === `delete:${confirmDelete.id}` ? "Deleting…" : "Yes, delete it for good"}
              </button>
            </Form>
            <Link to="/trash" className="btn-secondary">
              Keep it
            </Link>
          </div>
        </section>
      ) : null}

      <section aria-labelledby="trash-items-heading" className="card overflow-x-auto">
        <h2 id="trash-items-heading" className="sr-only">
          Items in the trash
        </h2>
        {items.length === 0 ? (
          <div className="p-10 text-center">
            <p className="font-medium">The trash is empty.</p>
            <p className="mt-1 text-sm text-slate-600">
              Files and folders you move to the trash appear here until you restore them or they expire.
            </p>
          </div>
        ) : (
          <>
            {/* The rows hold forms of their own, so the selection form stands apart and the row
              checkboxes join it through their form attribute. */}
            <form id="trash-bulk-form" method="post" action="/bulk" className="flex items-center gap-2 border-b border-slate-200 p-3">
              <CsrfInput />
              <input type="hidden" name="intent" value="restore" />
              <input type="hidden" name="from" value="/trash" />
              <button type="submit" className="btn-secondary">
                Restore selected
              </button>
            </form>
            <table className="w-full text-left text-sm">
              <TableHead
                columns={[
                  { label: "Name" },
                  { label: "Original location" },
                  { label: "Trashed", hideBelow: "md" },
                  { label: "Size" },
                  { label: "Actions" },
                ]}
              />
              <tbody className="divide-y divide-slate-100">
                {items.map((item) => (
                  <tr key={item.id}>
                    <td className="px-4 py-2">
                      <span className="flex items-center gap-2">
                        <input
                          type="checkbox"
                          name="item"
                          value={`${item.kind}:${item.id}`}
                          form="trash-bulk-form"
                          aria-label={`Select ${item.name}`}
                          className="h-4 w-4"
                        />
                        {item.kind === "folder" ? <FolderIcon /> : <FileIcon />}
                        <span className="break-all">{item.name}</span>
                        <span className="sr-only">({item.kind})</span>
                      </span>
                    </td>
                    <td className="px-4 py-2 text-slate-700">
                      {item.originalFolder ? (
                        <Link
                          to={item.originalFolder.isRoot ? "/files" : `/files/${item.originalFolder.id}`}
                          className="text-blue-800 hover:underline"
                        >
                          {item.originalFolder.name}
                        </Link>
                      ) : (
                        <span title="The original folder is gone or in the trash too">Gone — restores to My files</span>
                      )}
                    </td>
                    <td className="hidden px-4 py-2 text-slate-600 md:table-cell">{formatDate(item.trashedAt)}</td>
                    <td className="px-4 py-2 whitespace-nowrap text-slate-700">{formatBytes(item.size)}</td>
                    <td className="px-4 py-2">
                      <div className="flex flex-wrap gap-2">
                        <Form method="post">
                          <CsrfInput />
                          <input type="hidden" name="intent" value="restore" />
                          <input type="hidden" name="kind" value={item.kind} />
                          <input type="hidden" name="id" value={item.id} />
                          <button type="submit" className="btn-secondary" disabled={busy === `restore:${item.id}`}>
                            Restore<span className="sr-only"> {item.name}</span>
                          </button>
                        </Form>
                        <Link
                          to={`?confirm=delete&item=${item.kind}:${item.id}`}
                          className="btn-secondary border-red-300 text-red-800 hover:bg-red-50"
                        >
                          Delete forever…<span className="sr-only"> {item.name}</span>
                        </Link>
                      </div>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
        {items.length >= limit ? (
          <p className="border-t border-slate-200 p-3 text-sm text-slate-600">
            Showing the {limit} most recently trashed items. Restore or delete some to see older ones.
          </p>
        ) : null}
      </section>
    </div>
  );
}
