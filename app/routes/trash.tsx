import { ButtonLink } from "~/components/ui/button";
import { redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { auditActor } from "~/domain/audit/audit.server";
import { FormMessage } from "~/components/field";
import { ConfirmDeleteSection, ConfirmEmptySection } from "~/components/trash/confirm-sections";
import { TrashItems } from "~/components/trash/trash-items";
import { TrashNotice } from "~/components/trash/trash-notice";
import { BulkProgress } from "~/components/trash/bulk-progress";
import { activeBulkOperations } from "~/domain/files/bulk-operations.server";
import { getReadableItem, parseKind } from "~/domain/files/operations.server";
import { requireUser } from "~/route-helpers/guards.server";
import { getSettings } from "~/domain/admin/settings.server";
import { deleteForever, emptyTrash } from "~/domain/files/trash-purge.server";
import { getTrashedItem, listTrash, restoreItem, TRASH_PAGE_LIMIT, restoredInto, trashStateOf } from "~/domain/files/trash.server";
import { z } from "zod";
import { field, parseForm, parseQuery } from "~/route-helpers/forms.server";
import { actionFailure } from "~/route-helpers/http.server";
import { asId } from "~/route-helpers/params.server";

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

/** What the page is asked to show: a message after an action, a restored item, a confirmation. */
const trashQuery = z.object({ done: field.hint(40), item: field.hint(300), confirm: field.hint(20) });

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { services } = context;
  const user = await requireUser(services, request);
  const query = parseQuery(request, trashQuery);
  const [items, settings, operations] = await Promise.all([
    listTrash(services, user),
    getSettings(services),
    activeBulkOperations(services, user.id),
  ]);
  const done = query.done ?? null;
  // After a restore, say where the item went (only if the user can still see it).
  let restored: { kind: "file" | "folder"; id: string; name: string; folderId: string; folderName: string; folderIsRoot: boolean } | null =
    null;
  const ref = parseItemRef(query.item ?? null);
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
  const confirmDelete = query.confirm === "delete" && ref ? await getTrashedItem(services, user, ref.kind, ref.id).catch(() => null) : null;
  return {
    items: items.map((item) => ({ ...item, trashedAt: item.trashedAt.toISOString() })),
    retentionDays: settings.trashRetentionDays,
    confirmEmpty: query.confirm === "empty",
    confirmDelete,
    done: trashedNote ?? (done && DONE_MESSAGES[done] ? DONE_MESSAGES[done] : null),
    restored,
    limit: TRASH_PAGE_LIMIT,
    operations,
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
      const emptied = await emptyTrash(services, user, auditActor(request, context.clientIp, user));
      // A large trash is emptied in the background: the page shows how far it is.
      return redirect(emptied.queued ? "/trash" : "/trash?done=emptied");
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
    const deleted = await deleteForever(services, user, kind, id, auditActor(request, context.clientIp, user));
    return redirect(deleted.queued ? "/trash" : "/trash?done=deleted");
  } catch (error) {
    return actionFailure(error);
  }
}

export default function Trash() {
  const { items, retentionDays, confirmEmpty, confirmDelete, done, restored, limit, operations } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const navigation = useNavigation();
  const busy = navigation.state === "submitting" ? `${navigation.formData?.get("intent")}:${navigation.formData?.get("id") ?? ""}` : null;

  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-end justify-between gap-4">
        <div>
          <h1 className="text-2xl font-semibold">Trash</h1>
          <p className="mt-1 text-sm text-text-muted">
            Items in the trash are deleted for good {retentionDays} days after they were trashed.
          </p>
        </div>
        {items.length > 0 && !confirmEmpty ? (
          <ButtonLink to="?confirm=empty" variant="danger-quiet">
            Empty trash…
          </ButtonLink>
        ) : null}
      </div>

      <BulkProgress operations={operations} />

      <div aria-live="polite">
        {done ? <TrashNotice done={done} restored={restored} /> : null}
        <FormMessage message={result && !result.ok ? result.message : null} />
      </div>

      {confirmEmpty && items.length > 0 ? <ConfirmEmptySection count={items.length} busy={busy} /> : null}

      {confirmDelete ? <ConfirmDeleteSection item={confirmDelete} busy={busy} /> : null}

      <TrashItems items={items} limit={limit} busy={busy} />
    </div>
  );
}
