import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { FileViewer } from "~/components/file-viewer";
import { viewerForPage } from "~/lib/page-text.server";
import { FormMessage } from "~/components/field";
import { FileIcon, FolderIcon } from "~/components/icons";
import { ItemActivitySection } from "~/components/activity-list";
import { itemActivity } from "~/domain/audit/activity.server";
import { canWrite } from "~/domain/sharing/access.server";
import { isAppError, ValidationError } from "~/domain/errors";
import { breadcrumbs, DESTINATION_PICKER_LIMIT, destinationFolders } from "~/domain/files/folders.server";
import { visibleCrumbs } from "~/domain/sharing/user-shares.server";
import {
  accessTarget,
  copyItem,
  getReadableItem,
  moveItem,
  parseKind,
  parsePolicy,
  renameItem,
  type ItemKind,
} from "~/domain/files/operations.server";
import { requireUser } from "~/domain/accounts/sessions.server";
import { viewerData } from "~/domain/files/previews.server";
import { getSettings } from "~/domain/admin/settings.server";
import { trashItem } from "~/domain/files/trash.server";
import { listVersions, restoreVersion } from "~/domain/files/versions.server";
import { formatBytes, formatDate } from "~/lib/format";
import { thumbnailUrl } from "~/lib/thumbnails";
import { loaderFailure } from "~/lib/http.server";
import type { Services } from "~/services/index.server";
import { CsrfInput } from "~/components/csrf-input";

/** Most folders offered as a move/copy destination; beyond that, move step by step. */

/** Success messages after POST → redirect (`?done=<key>`), so a reload never repeats an action. */
const DONE_MESSAGES: Record<string, string> = {
  renamed: "Renamed.",
  moved: "Moved.",
  copied: "Copied. You are now looking at the copy.",
  replaced: "Done. The existing file was replaced; its earlier content is kept under Versions.",
  "version-restored": "Restored that version. The content it replaced is now listed under Versions.",
  "uploaded-to-root": "Uploaded. The folder it was going into was deleted meanwhile, so it was saved here, in your My files.",
};

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `${data?.item.name ?? "Details"} · Details · Coffer` }];

export async function loader({ request, params, context }: LoaderFunctionArgs) {
  const { services } = context;
  const user = await requireUser(services, request);
  try {
    const kind = parseKind(params.kind);
    const item = await getReadableItem(services, user, kind, params.id ?? "");
    const writable = await canWrite(services, user, accessTarget(item));
    const parentId = item.kind === "file" ? item.file.folderId : item.folder.parentId;
    const parent = parentId ? await services.prisma.folder.findUnique({ where: { id: parentId } }) : null;
    // Someone an item was shared with sees its location from the shared folder down only.
    const location = parent ? await visibleCrumbs(services, user, parent.ownerId, await breadcrumbs(services, parent), "none") : [];
    const id = item.kind === "file" ? item.file.id : item.folder.id;
    const ownerId = item.kind === "file" ? item.file.ownerId : item.folder.ownerId;
    const thumbnail = item.kind === "file" && item.file.thumbnailKey ? thumbnailUrl(id, item.file.thumbnailKey) : null;
    const [sharing, versions, totals, destinations, settings, activity, viewer] = await Promise.all([
      sharingState(services, kind, id),
      item.kind === "file" ? listVersions(services, user, id).then((r) => r.versions) : Promise.resolve([]),
      item.kind === "folder" ? folderTotals(services, id) : Promise.resolve(null),
      writable ? destinationFolders(services, user.id, item.kind === "folder" ? id : null) : Promise.resolve({ folders: [], truncated: false }),
      getSettings(services),
      itemActivity(services, user, { kind: item.kind, id, ownerId }),
      item.kind === "file" ? viewerData(services, item.file, { view: `/view/${id}`, thumbnail }).then((v) => viewerForPage(context, v)) : Promise.resolve(null),
    ]);
    const done = new URL(request.url).searchParams.get("done");
    return {
      item:
        item.kind === "file"
          ? {
              kind: "file" as const,
              id,
              name: item.file.name,
              isRoot: false,
              size: Number(item.file.size),
              mimeType: item.file.mimeType,
              sha256: item.file.sha256,
              thumbnail,
              createdAt: item.file.createdAt,
              updatedAt: item.file.updatedAt,
              parentId,
            }
          : {
              kind: "folder" as const,
              id,
              name: item.folder.parentId === null ? "My files" : item.folder.name,
              isRoot: item.folder.parentId === null,
              size: totals?.size ?? 0,
              files: totals?.files ?? 0,
              folders: totals?.folders ?? 0,
              mimeType: null,
              sha256: null,
              thumbnail: null,
              createdAt: item.folder.createdAt,
              updatedAt: item.folder.updatedAt,
              parentId,
            },
      location,
      viewer,
      versions: versions.map((v) => ({ id: v.id, size: Number(v.size), mimeType: v.mimeType, sha256: v.sha256, createdAt: v.createdAt, replacedAt: v.replacedAt })),
      sharing,
      canWrite: writable,
      isOwner: user.id === (item.kind === "file" ? item.file.ownerId : item.folder.ownerId),
      destinations,
      pickerLimit: DESTINATION_PICKER_LIMIT,
      versionsKept: settings.versionsKept,
      trashRetentionDays: settings.trashRetentionDays,
      done: done && DONE_MESSAGES[done] ? DONE_MESSAGES[done] : null,
      activity,
    };
  } catch (error) {
    loaderFailure(error);
  }
}

/** Active public links and people the item is shared with (read-only here). */
async function sharingState(services: Services, kind: ItemKind, id: string) {
  const fileId = kind === "file" ? id : null;
  const folderId = kind === "folder" ? id : null;
  const [links] = await services.prisma.$queryRaw<Array<{ count: number }>>`
    SELECT count(*)::int AS count FROM share_links
    WHERE (file_id = ${fileId} OR folder_id = ${folderId})
      AND (expires_at IS NULL OR expires_at > now())
      AND (max_downloads IS NULL OR download_count < max_downloads)`;
  const people = await services.prisma.userShare.count({ where: kind === "file" ? { fileId: id } : { folderId: id } });
  return { links: links?.count ?? 0, people };
}

async function folderTotals(services: Services, folderId: string) {
  const [row] = await services.prisma.$queryRaw<Array<{ folders: number; files: number; size: string | null }>>`
    WITH RECURSIVE sub AS (
      SELECT id FROM folders WHERE id = ${folderId}
      UNION ALL
      SELECT f.id FROM folders f JOIN sub ON f.parent_id = sub.id WHERE f.trashed_at IS NULL
    )
    SELECT (SELECT count(*)::int - 1 FROM sub) AS folders,
           count(files.id)::int AS files,
           sum(files.size)::text AS size
    FROM files WHERE files.folder_id IN (SELECT id FROM sub) AND files.trashed_at IS NULL`;
  return { folders: row?.folders ?? 0, files: row?.files ?? 0, size: Number(row?.size ?? 0) };
}


/** A refused action re-renders the page with the message and what was typed, so nothing is lost. */
type ActionResult = { ok: false; intent: string; message: string; fieldErrors: Record<string, string>; values: { name: string; destination: string; policy: string } };

export async function action({ request, params, context }: ActionFunctionArgs) {
  const { services } = context;
  const user = await requireUser(services, request);
  const form = await request.formData();
  const intent = String(form.get("intent") ?? "");
  const text = (name: string) => {
    const value = form.get(name);
    return typeof value === "string" ? value : "";
  };
  try {
    const kind = parseKind(params.kind);
    const id = params.id ?? "";
    switch (intent) {
      case "rename": {
        const result = await renameItem(services, user, kind, id, text("name"), parsePolicy(text("policy") || "cancel"));
        return redirect(`/details/${result.kind}/${result.id}?done=${result.replaced ? "replaced" : "renamed"}`);
      }
      case "move": {
        if (!text("destination")) throw new ValidationError("Choose a destination folder.", { destination: "Choose a destination folder." });
        const result = await moveItem(services, user, kind, id, text("destination"), parsePolicy(text("policy") || "cancel"));
        return redirect(`/details/${result.kind}/${result.id}?done=${result.replaced ? "replaced" : "moved"}`);
      }
      case "copy": {
        if (!text("destination")) throw new ValidationError("Choose a destination folder.", { destination: "Choose a destination folder." });
        const result = await copyItem(services, user, kind, id, text("destination"), parsePolicy(text("policy") || "cancel"));
        return redirect(`/details/${result.kind}/${result.id}?done=${result.replaced ? "replaced" : "copied"}`);
      }
      case "trash": {
        const result = await trashItem(services, user, kind, id);
        return redirect(`/trash?done=trashed&item=${result.kind}:${result.id}`);
      }
      case "restore-version": {
        if (kind !== "file") throw new ValidationError("Only files have versions.");
        // The version must belong to this file: anything else is "not found".
        const versionId = text("versionId");
        const version = await services.prisma.fileVersion.findUnique({ where: { id: versionId }, select: { fileId: true } });
        if (!version || version.fileId !== id) throw new ValidationError("That version was not found. It may have been removed.");
        await restoreVersion(services, user, versionId);
        return redirect(`/details/file/${id}?done=version-restored`);
      }
      default:
        throw new ValidationError("Unknown action.");
    }
  } catch (error) {
    if (isAppError(error)) {
      const values = { name: text("name").slice(0, 1000), destination: text("destination").slice(0, 200), policy: text("policy").slice(0, 20) };
      return data<ActionResult>({ ok: false, intent, message: error.message, fieldErrors: error.fieldErrors, values }, { status: error.status });
    }
    throw error;
  }
}

export default function Details() {
  const { item, location, viewer, versions, sharing, canWrite, isOwner, destinations, pickerLimit, versionsKept, trashRetentionDays, done, activity } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const navigation = useNavigation();
  const busy = navigation.state === "submitting" ? String(navigation.formData?.get("intent") ?? "") : null;
  const errorFor = (intent: string) => (result && !result.ok && result.intent === intent ? result : null);
  const kindLabel = item.kind === "file" ? "file" : "folder";
  const openHref = item.kind === "folder" ? (item.isRoot ? "/files" : `/files/${item.id}`) : `/download/${item.id}`;

  return (
    <div className="space-y-6">
      {location.length > 0 ? (
        <nav aria-label="Location">
          <ol className="flex flex-wrap items-center gap-1 text-sm text-slate-600">
            {location.map((crumb, index) => (
              <li key={crumb.id} className="flex items-center gap-1">
                {index > 0 ? <span aria-hidden="true">/</span> : null}
                <Link to={crumb.isRoot ? "/files" : `/files/${crumb.id}`} className="text-blue-800 hover:underline">
                  {crumb.name}
                </Link>
              </li>
            ))}
          </ol>
        </nav>
      ) : null}

      <div className="flex flex-wrap items-center gap-3">
        {item.thumbnail ? (
          <img src={item.thumbnail} alt="" className="h-10 w-10 rounded bg-slate-50 object-cover" data-testid="details-thumbnail" />
        ) : item.kind === "file" ? (
          <FileIcon className="h-7 w-7 text-slate-500" />
        ) : (
          <FolderIcon className="h-7 w-7 text-amber-500" />
        )}
        <h1 className="text-2xl font-semibold break-all">{item.name}</h1>
        <a href={openHref} className="btn-secondary" {...(item.kind === "file" ? { download: true } : {})}>
          {item.kind === "file" ? "Download" : "Open folder"}
        </a>
      </div>

      <div aria-live="polite">
        <FormMessage message={done} tone="success" />
        {result && !result.ok && !["rename", "move", "copy", "trash"].includes(result.intent) ? <FormMessage message={result.message} /> : null}
      </div>

      {viewer ? <FileViewer key={item.id} name={item.name} viewer={viewer} downloadHref={openHref} /> : null}

      <section aria-labelledby="properties-heading" className="card p-4">
        <h2 id="properties-heading" className="text-lg font-semibold">
          Properties
        </h2>
        <dl className="mt-3 grid grid-cols-1 gap-x-6 gap-y-2 text-sm sm:grid-cols-[max-content_1fr]">
          <dt className="font-medium text-slate-700">Type</dt>
          <dd>{item.kind === "file" ? item.mimeType : "Folder"}</dd>
          <dt className="font-medium text-slate-700">Size</dt>
          <dd>
            {formatBytes(item.size)}
            {item.kind === "folder" ? ` in ${item.files} file${item.files === 1 ? "" : "s"} and ${item.folders} subfolder${item.folders === 1 ? "" : "s"}` : null}
          </dd>
          {item.kind === "file" ? (
            <>
              <dt className="font-medium text-slate-700">SHA-256</dt>
              <dd className="font-mono text-xs break-all">{item.sha256 ?? "Not computed (uploaded in resumable chunks)"}</dd>
            </>
          ) : null}
          <dt className="font-medium text-slate-700">Created</dt>
          <dd>{formatDate(item.createdAt)}</dd>
          <dt className="font-medium text-slate-700">Modified</dt>
          <dd>{formatDate(item.updatedAt)}</dd>
          <dt className="font-medium text-slate-700">Location</dt>
          <dd>
            {location.length > 0 ? (
              <Link to={location.at(-1)!.isRoot ? "/files" : `/files/${location.at(-1)!.id}`} className="text-blue-800 hover:underline">
                {location.map((c) => c.name).join(" / ")}
              </Link>
            ) : (
              "Top level"
            )}
          </dd>
        </dl>
      </section>

      {!item.isRoot ? (
        <section aria-labelledby="sharing-heading" className="card p-4">
          <h2 id="sharing-heading" className="text-lg font-semibold">
            Sharing
          </h2>
          <p className="mt-2 text-sm text-slate-700">
            {sharing.links === 0 && sharing.people === 0
              ? `This ${kindLabel} is not shared.`
              : `${sharing.links} active public link${sharing.links === 1 ? "" : "s"}; shared with ${sharing.people} ${sharing.people === 1 ? "person" : "people"}.`}
          </p>
          {isOwner ? (
            <p className="mt-2 text-sm">
              <Link to={`/shares?item=${item.kind}:${item.id}`} className="text-blue-800 underline">
                Manage sharing
              </Link>
            </p>
          ) : null}
        </section>
      ) : null}

      {item.kind === "file" ? (
        <section aria-labelledby="versions-heading" className="card overflow-x-auto p-4">
          <h2 id="versions-heading" className="text-lg font-semibold">
            Versions
          </h2>
          <p className="mt-1 text-sm text-slate-600">
            When this file is replaced, its earlier content is kept here (the {versionsKept} most recent).
          </p>
          {versions.length === 0 ? (
            <p className="mt-3 text-sm">No earlier versions.</p>
          ) : (
            <table className="mt-3 w-full text-left text-sm">
              <caption className="sr-only">Earlier versions of {item.name}, newest first</caption>
              <thead className="border-b border-slate-200 text-slate-700">
                <tr>
                  <th scope="col" className="py-2 pr-4 font-medium">
                    Saved
                  </th>
                  <th scope="col" className="py-2 pr-4 font-medium">
                    Replaced
                  </th>
                  <th scope="col" className="py-2 pr-4 font-medium">
                    Size
                  </th>
                  <th scope="col" className="py-2 font-medium">
                    Actions
                  </th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100">
                {versions.map((version) => (
                  <tr key={version.id}>
                    <td className="py-2 pr-4">{formatDate(version.createdAt)}</td>
                    <td className="py-2 pr-4">{formatDate(version.replacedAt)}</td>
                    <td className="py-2 pr-4 whitespace-nowrap">{formatBytes(version.size)}</td>
                    <td className="flex flex-wrap gap-2 py-2">
                      <a href={`/download/version/${version.id}`} className="btn-secondary" download>
                        Download<span className="sr-only"> the version saved {formatDate(version.createdAt)}</span>
                      </a>
                      {canWrite ? (
                        <Form method="post">
                          <CsrfInput />
                          <input type="hidden" name="intent" value="restore-version" />
                          <input type="hidden" name="versionId" value={version.id} />
                          <button type="submit" className="btn-secondary" disabled={busy === "restore-version"}>
                            Restore<span className="sr-only"> the version saved {formatDate(version.createdAt)}</span>
                          </button>
                        </Form>
                      ) : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      ) : null}

      <ItemActivitySection entries={activity} kindLabel={kindLabel} />

      {canWrite && !item.isRoot ? (
        <>
          <section aria-labelledby="rename-heading" className="card p-4">
            <h2 id="rename-heading" className="text-lg font-semibold">
              Rename
            </h2>
            <Form method="post" className="mt-3 space-y-3">
              <CsrfInput />
              <input type="hidden" name="intent" value="rename" />
              <div>
                <label htmlFor="rename-name" className="label">
                  New name
                </label>
                <input
                  key={errorFor("rename")?.values.name ?? item.name}
                  id="rename-name"
                  name="name"
                  required
                  maxLength={255}
                  defaultValue={errorFor("rename")?.values.name ?? item.name}
                  className="input max-w-md"
                  aria-invalid={errorFor("rename") ? true : undefined}
                  aria-describedby={errorFor("rename") ? "rename-error" : undefined}
                />
              </div>
              <PolicyChoice idPrefix="rename" allowReplace={item.kind === "file"} chosen={errorFor("rename")?.values.policy} />
              <ErrorText id="rename-error" result={errorFor("rename")} />
              <button type="submit" className="btn-primary" disabled={busy === "rename"}>
                {busy === "rename" ? "Renaming…" : "Rename"}
              </button>
            </Form>
          </section>

          {(["move", "copy"] as const).map((intent) => (
            <section key={intent} aria-labelledby={`${intent}-heading`} className="card p-4">
              <h2 id={`${intent}-heading`} className="text-lg font-semibold">
                {intent === "move" ? "Move" : "Copy"}
              </h2>
              <Form method="post" className="mt-3 space-y-3">
                <CsrfInput />
                <input type="hidden" name="intent" value={intent} />
                <div>
                  <label htmlFor={`${intent}-destination`} className="label">
                    {intent === "move" ? "Move to folder" : "Copy into folder"}
                  </label>
                  <select
                    key={errorFor(intent)?.values.destination ?? ""}
                    id={`${intent}-destination`}
                    name="destination"
                    required
                    className="input max-w-md"
                    defaultValue={errorFor(intent)?.values.destination ?? ""}
                    aria-invalid={errorFor(intent) ? true : undefined}
                    aria-describedby={[errorFor(intent) ? `${intent}-error` : null, destinations.truncated ? `${intent}-note` : null].filter(Boolean).join(" ") || undefined}
                  >
                    <option value="" disabled>
                      Choose a folder…
                    </option>
                    {destinations.folders.map((folder) => (
                      <option key={folder.id} value={folder.id} disabled={intent === "move" && folder.id === item.parentId}>
                        {"\u00a0\u00a0".repeat(folder.depth)}
                        {folder.label}
                        {folder.id === item.parentId ? " (current folder)" : ""}
                      </option>
                    ))}
                  </select>
                  {destinations.truncated ? (
                    <p id={`${intent}-note`} className="mt-1 text-sm text-slate-600">
                      Only the first {pickerLimit} folders are listed. To reach another, move the item in steps.
                    </p>
                  ) : null}
                </div>
                <PolicyChoice idPrefix={intent} allowReplace={item.kind === "file"} chosen={errorFor(intent)?.values.policy} />
                <ErrorText id={`${intent}-error`} result={errorFor(intent)} />
                <button type="submit" className="btn-primary" disabled={busy === intent}>
                  {busy === intent ? (intent === "move" ? "Moving…" : "Copying…") : intent === "move" ? "Move" : "Copy"}
                </button>
              </Form>
            </section>
          ))}

          <section aria-labelledby="trash-heading" className="card border-red-200 p-4">
            <h2 id="trash-heading" className="text-lg font-semibold">
              Move to trash
            </h2>
            <p className="mt-2 text-sm text-slate-700">
              {item.kind === "folder" ? "This folder and everything in it go to the trash. " : "The file goes to the trash. "}
              You can restore it from the trash for {trashRetentionDays} days; after that it is deleted for good.
            </p>
            <Form method="post" className="mt-3">
              <CsrfInput />
              <input type="hidden" name="intent" value="trash" />
              <ErrorText id="trash-error" result={errorFor("trash")} />
              <button type="submit" className="btn-secondary border-red-300 text-red-800 hover:bg-red-50" disabled={busy === "trash"}>
                {busy === "trash" ? "Moving to trash…" : `Move “${item.name}” to trash`}
              </button>
            </Form>
          </section>
        </>
      ) : null}
    </div>
  );
}

function PolicyChoice({ idPrefix, allowReplace, chosen }: { idPrefix: string; allowReplace: boolean; chosen?: string }) {
  const options = [
    { value: "cancel", label: "Cancel and tell me" },
    { value: "keep-both", label: "Keep both (number the new name)" },
    ...(allowReplace ? [{ value: "replace", label: "Replace the existing file (its content is kept as a version)" }] : []),
  ];
  const selected = options.some((option) => option.value === chosen) ? chosen : "cancel";
  return (
    <fieldset key={selected}>
      <legend className="label">If the name is already taken</legend>
      <div className="flex flex-col gap-1 text-sm">
        {options.map((option) => (
          <label key={option.value} className="flex items-center gap-2">
            <input type="radio" name="policy" value={option.value} defaultChecked={option.value === selected} id={`${idPrefix}-policy-${option.value}`} />
            {option.label}
          </label>
        ))}
      </div>
    </fieldset>
  );
}

function ErrorText({ id, result }: { id: string; result: ActionResult | null }) {
  if (!result) return null;
  return (
    <p id={id} role="alert" className="field-error">
      {result.message}
    </p>
  );
}
