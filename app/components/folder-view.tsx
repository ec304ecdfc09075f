import { Form, Link, useActionData, useLoaderData, useLocation, useNavigation } from "@remix-run/react";
import { rememberFolderPage } from "./folder-gone";
import { useEffect, useRef, useState } from "react";
import {
  COUNT_LIMIT,
  type FolderCounts,
  type FolderListing,
  type ListedFile,
  type SortDir,
  type SortKey,
} from "~/domain/files/folder-listing";
import type { folderAction, folderLoader, FolderViewMode } from "~/route-helpers/folder-route.server";
import { formatBytes, formatDate } from "~/lib/format";
import { thumbnailUrl } from "~/lib/thumbnails";
import { Breadcrumbs } from "./breadcrumbs";
import { DragMoveProvider, DragMoveStatus, dropHighlight, useDragMove } from "./drag-move";
import { FormMessage } from "./field";
import { FolderTree } from "./folder-tree";
import { FileIcon, FolderIcon } from "./icons";
import { UploadPanel } from "./upload-panel";
import { UsageMeter } from "./usage-meter";
import { CsrfInput } from "~/components/csrf-input";

const SORT_LABELS: Record<SortKey, string> = { name: "Name", size: "Size", modified: "Modified", type: "Type" };

/** Builds the address of a link to this folder with other sort, view or page settings. */
type QueryFor = (change: { sort?: SortKey; dir?: SortDir; after?: string | null; before?: string | null; view?: FolderViewMode }) => string;

function makeQueryFor(path: string, current: { sort: SortKey; dir: SortDir; view: FolderViewMode }): QueryFor {
  return (change) => {
    const sort = change.sort ?? current.sort;
    const dir = change.dir ?? current.dir;
    const view = change.view ?? current.view;
    const query = new URLSearchParams();
    if (sort !== "name") query.set("sort", sort);
    if (dir !== "asc") query.set("dir", dir);
    // The view is remembered in a cookie; links carry it too, so it also holds without cookies.
    if (view !== "list" || change.view) query.set("view", view);
    if (change.after) query.set("after", change.after);
    if (change.before) query.set("before", change.before);
    const text = query.toString();
    return text ? `${path}?${text}` : path;
  };
}

/** Shown instead of "Not found" when the folder on screen was trashed or deleted elsewhere. */
function FolderGoneNotice() {
  return (
    <div role="alert" className="rounded-md border border-amber-300 bg-amber-50 p-4 text-sm text-amber-950" data-testid="folder-gone">
      <p className="font-medium">This folder was moved to the trash or deleted, in another tab or by someone else.</p>
      <p className="mt-1">
        Uploads still running here finish and say where their files went.{" "}
        <Link to="/trash" className="text-blue-800 underline">
          Open the trash
        </Link>{" "}
        or{" "}
        <Link to="/files" className="text-blue-800 underline">
          go to My files
        </Link>
        .
      </p>
    </div>
  );
}

/** The account's storage (all folders, versions and trash), beside the tree: not this folder's. */
function AccountUsage({ usage }: { usage: { usedBytes: number; quotaBytes: number | null } }) {
  return (
    <section aria-labelledby="account-usage-heading" className="mt-4 space-y-1 px-2" data-testid="account-usage">
      <h2 id="account-usage-heading" className="text-sm font-semibold text-slate-700">
        Your storage
      </h2>
      <UsageMeter usedBytes={usage.usedBytes} quotaBytes={usage.quotaBytes} />
    </section>
  );
}

export function FolderView() {
  const page = useLoaderData<typeof folderLoader>();
  const { folder, crumbs, listing, maxUploadSize, view, counts, size, tree, usage } = page;
  // Set by the route's clientLoader when a refresh found this folder trashed or deleted.
  const gone = (page as { gone?: boolean }).gone === true;
  const { pathname } = useLocation();
  const result = useActionData<typeof folderAction>();
  const navigation = useNavigation();
  const busyIntent = navigation.state === "submitting" ? navigation.formData?.get("intent") : null;
  const uploadingWithoutJs = navigation.state === "submitting" && navigation.formEncType === "multipart/form-data";
  const folderNameRef = useRef<HTMLInputElement>(null);
  const current = crumbs.at(-1);
  const isEmpty = listing.folders.length === 0 && listing.files.length === 0 && !listing.prevCursor;
  const folderPath = folder.isRoot ? "/files" : `/files/${folder.id}`;
  const queryFor = makeQueryFor(folderPath, { sort: listing.sort, dir: listing.dir, view });

  useEffect(() => {
    if (result?.ok && folderNameRef.current) folderNameRef.current.value = "";
  }, [result]);
  useEffect(() => {
    if (!gone) rememberFolderPage(pathname, page);
  }, [gone, pathname, page]);

  return (
    <DragMoveProvider enabled={folder.canWrite} from={folderPath}>
      <div className="lg:grid lg:grid-cols-[15rem_minmax(0,1fr)] lg:gap-8">
        {tree ? (
          <div className="hidden lg:block">
            <h2 className="mb-2 px-2 text-sm font-semibold text-slate-700">Folders</h2>
            <FolderTree tree={tree} />
            {usage ? <AccountUsage usage={usage} /> : null}
          </div>
        ) : null}
        <div className="min-w-0 space-y-6">
          <Breadcrumbs crumbs={crumbs} href={(crumb) => (crumb.isRoot ? "/files" : `/files/${crumb.id}`)} />

          {tree ? (
            // Small screens: the tree folds away above the listing (a native disclosure, no script).
            <details className="card lg:hidden">
              <summary className="cursor-pointer px-4 py-2 text-sm font-medium text-slate-800">Folders</summary>
              <div className="px-2 pb-3">
                <FolderTree tree={tree} />
                {usage ? <AccountUsage usage={usage} /> : null}
              </div>
            </details>
          ) : null}

          <div className="flex flex-wrap items-end justify-between gap-4">
            <div className="space-y-2">
              <h1 className="text-2xl font-semibold break-all">{current?.name ?? "My files"}</h1>
              {size !== null ? (
                <p className="text-sm text-slate-600" data-testid="folder-size">
                  {`${size.capped ? "At least " : ""}${formatBytes(size.bytes)} in this folder`}
                </p>
              ) : null}
            </div>
            {folder.canWrite ? (
              <Form method="post" className="flex items-end gap-2">
                <CsrfInput />
                <input type="hidden" name="intent" value="create-folder" />
                <div>
                  <label htmlFor="new-folder-name" className="label">
                    New folder
                  </label>
                  <input
                    ref={folderNameRef}
                    id="new-folder-name"
                    name="name"
                    required
                    maxLength={255}
                    className="input"
                    placeholder="Folder name"
                    aria-invalid={result && !result.ok && result.fieldErrors?.name ? true : undefined}
                    aria-describedby={result && !result.ok && result.fieldErrors?.name ? "new-folder-error" : undefined}
                  />
                </div>
                <button type="submit" className="btn-secondary" disabled={busyIntent === "create-folder"}>
                  {busyIntent === "create-folder" ? "Creating…" : "Create folder"}
                </button>
              </Form>
            ) : null}
          </div>
          {result && !result.ok && result.fieldErrors?.name ? (
            <p id="new-folder-error" className="field-error">
              {result.fieldErrors.name}
            </p>
          ) : null}
          {gone ? <FolderGoneNotice /> : null}
          <FormMessage message={result?.message} tone={result?.ok ? "success" : "error"} />
          <DragMoveStatus />

          {folder.canWrite ? (
            <UploadPanel folderId={folder.id} maxUploadSize={maxUploadSize}>
              {/* Without JavaScript this plain form streams the files to the server. */}
              <Form method="post" encType="multipart/form-data" className="flex flex-wrap items-end gap-2">
                <CsrfInput />
                {/* Before the file field: the server reads it before the file's bytes arrive. */}
                <div>
                  <label htmlFor="upload-on-conflict" className="label">
                    If a name is taken
                  </label>
                  <select id="upload-on-conflict" name="onConflict" defaultValue="keep-both" className="input">
                    <option value="keep-both">Keep both</option>
                    <option value="replace">Replace (keep the old one as a version)</option>
                    <option value="cancel">Don’t upload it</option>
                  </select>
                </div>
                <div>
                  <label htmlFor="upload-file" className="label">
                    Upload files
                  </label>
                  <input id="upload-file" name="file" type="file" multiple required className="text-sm" />
                </div>
                <button type="submit" className="btn-primary" disabled={uploadingWithoutJs}>
                  {uploadingWithoutJs ? "Uploading…" : "Upload"}
                </button>
                <p className="w-full text-sm text-slate-600">Up to {formatBytes(maxUploadSize)} per file.</p>
              </Form>
            </UploadPanel>
          ) : null}

          {isEmpty ? null : <Toolbar view={view} sort={listing.sort} dir={listing.dir} counts={counts} action={folderPath} />}

          {/* One plain form around the listing (no other forms inside it): the row checkboxes and the
            bulk bar's buttons submit the selection, with or without JavaScript. */}
          <form id="bulk-form" method="get" action="/bulk" className="space-y-3">
            <input type="hidden" name="from" value={folderPath} />
            {isEmpty ? null : <BulkBar canWrite={folder.canWrite} />}
            <section aria-labelledby="contents-heading" className={view === "list" ? "card overflow-x-auto" : ""}>
              <h2 id="contents-heading" className="sr-only">
                Folder contents
              </h2>
              {isEmpty ? (
                <div className={`p-10 text-center ${view === "grid" ? "card" : ""}`}>
                  <p className="font-medium">This folder is empty.</p>
                  <p className="mt-1 text-sm text-slate-600">
                    {folder.canWrite ? "Upload files or create a folder to get started." : "Nothing has been put here yet."}
                  </p>
                </div>
              ) : view === "grid" ? (
                <GridView listing={listing} />
              ) : (
                <ListView listing={listing} queryFor={queryFor} />
              )}
            </section>
          </form>

          <Pagination listing={listing} queryFor={queryFor} />
        </div>
      </div>
    </DragMoveProvider>
  );
}

function plural(count: number, one: string, many: string, capped = false) {
  return `${capped && count >= COUNT_LIMIT ? "more than " : ""}${count.toLocaleString("en-GB")} ${count === 1 ? one : many}`;
}

/** The summary line, the view switch and a sort form (the grid and small screens have no column headers). */
function Toolbar({
  view,
  sort,
  dir,
  counts,
  action,
}: {
  view: FolderViewMode;
  sort: SortKey;
  dir: SortDir;
  counts: FolderCounts;
  action: string;
}) {
  const queryFor = makeQueryFor(action, { sort, dir, view });
  return (
    <div className="flex flex-wrap items-end justify-between gap-x-6 gap-y-3">
      <p className="text-sm text-slate-700" data-testid="folder-summary">
        {`${plural(counts.folders, "folder", "folders", counts.capped)}, ${plural(counts.files, "file", "files", counts.capped)}`}
      </p>
      <div className="flex flex-wrap items-end gap-x-6 gap-y-3">
        <Form method="get" action={action} className="flex items-end gap-2">
          {view === "grid" ? <input type="hidden" name="view" value="grid" /> : null}
          <div>
            <label htmlFor="sort-by" className="label">
              Sort by
            </label>
            <select id="sort-by" name="sort" defaultValue={sort} key={`sort-${sort}`} className="input w-auto py-1.5">
              {(Object.keys(SORT_LABELS) as SortKey[]).map((key) => (
                <option key={key} value={key}>
                  {SORT_LABELS[key]}
                </option>
              ))}
            </select>
          </div>
          <div>
            <label htmlFor="sort-dir" className="label">
              Order
            </label>
            <select id="sort-dir" name="dir" defaultValue={dir} key={`dir-${dir}`} className="input w-auto py-1.5">
              <option value="asc">Ascending</option>
              <option value="desc">Descending</option>
            </select>
          </div>
          <button type="submit" className="btn-secondary">
            Sort
          </button>
        </Form>
        <div role="group" aria-label="View" className="flex overflow-hidden rounded-md border border-slate-300 text-sm">
          {(["list", "grid"] as const).map((mode) => (
            <Link
              key={mode}
              to={queryFor({ view: mode })}
              aria-current={view === mode ? "true" : undefined}
              className={`px-3 py-2 font-medium ${view === mode ? "bg-slate-800 text-white" : "bg-white text-slate-800 hover:bg-slate-50"}`}
            >
              {mode === "list" ? "List" : "Grid"}
              <span className="sr-only"> view</span>
            </Link>
          ))}
        </div>
      </div>
    </div>
  );
}

function SortHeader({
  column,
  listing,
  queryFor,
  className = "",
}: {
  column: SortKey;
  listing: FolderListing;
  queryFor: QueryFor;
  className?: string;
}) {
  const active = listing.sort === column;
  const nextDir: SortDir = active && listing.dir === "asc" ? "desc" : "asc";
  return (
    <th
      scope="col"
      className={`px-4 py-2 font-medium ${className}`}
      aria-sort={active ? (listing.dir === "asc" ? "ascending" : "descending") : undefined}
    >
      <Link to={queryFor({ sort: column, dir: nextDir })} className="inline-flex items-center gap-1 hover:underline">
        {SORT_LABELS[column]}
        <span aria-hidden="true" className={active ? "text-slate-900" : "text-slate-500"}>
          {active ? (listing.dir === "asc" ? "▲" : "▼") : "↕"}
        </span>
      </Link>
    </th>
  );
}

/** A row's or tile's selection checkbox, part of the bulk form (also by its form attribute). */
function SelectBox({ kind, id, name }: { kind: "file" | "folder"; id: string; name: string }) {
  return (
    <input
      type="checkbox"
      name="item"
      value={`${kind}:${id}`}
      form="bulk-form"
      aria-label={`Select ${name}`}
      data-bulk-item=""
      className="h-4 w-4 align-middle"
    />
  );
}

/**
 * The actions on the selected items. Without JavaScript the buttons submit the surrounding form:
 * ZIP to /bulk/zip, Move…/Copy… to the /bulk destination page, trash straight to POST /bulk.
 * With JavaScript there is also "Select all" and a live count.
 */
function BulkBar({ canWrite }: { canWrite: boolean }) {
  const [hydrated, setHydrated] = useState(false);
  const [count, setCount] = useState(0);
  const [total, setTotal] = useState(0);
  const barRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    setHydrated(true);
    const form = barRef.current?.closest("form") ?? document.getElementById("bulk-form");
    if (!form) return;
    const boxes = () => Array.from(document.querySelectorAll<HTMLInputElement>('input[data-bulk-item][form="bulk-form"]'));
    const recount = () => {
      const all = boxes();
      setTotal(all.length);
      setCount(all.filter((box) => box.checked).length);
    };
    recount();
    document.addEventListener("change", recount);
    // The listing changes under the same form (sorting, paging, live updates).
    const observer = new MutationObserver(recount);
    observer.observe(form, { childList: true, subtree: true });
    return () => {
      document.removeEventListener("change", recount);
      observer.disconnect();
    };
  }, []);

  const selectAll = (checked: boolean) => {
    for (const box of document.querySelectorAll<HTMLInputElement>('input[data-bulk-item][form="bulk-form"]')) box.checked = checked;
    setCount(checked ? total : 0);
  };

  const disabled = hydrated && count === 0;
  return (
    <div ref={barRef} role="group" aria-label="Selected items" className="flex flex-wrap items-center gap-2 text-sm" data-testid="bulk-bar">
      {hydrated ? (
        <>
          <label className="flex items-center gap-2">
            <input
              type="checkbox"
              checked={total > 0 && count === total}
              ref={(box) => {
                if (box) box.indeterminate = count > 0 && count < total;
              }}
              onChange={(event) => selectAll(event.currentTarget.checked)}
              className="h-4 w-4"
            />
            Select all
          </label>
          <span aria-live="polite" className="min-w-[6rem] text-slate-700" data-testid="bulk-count">
            {`${count} selected`}
          </span>
        </>
      ) : (
        <span className="text-slate-700">With the selected items:</span>
      )}
      <button type="submit" formAction="/bulk/zip" formMethod="get" className="btn-secondary" disabled={disabled}>
        Download as ZIP
      </button>
      <button type="submit" name="intent" value="copy" formAction="/bulk" formMethod="get" className="btn-secondary" disabled={disabled}>
        Copy…
      </button>
      {canWrite ? (
        <>
          <button
            type="submit"
            name="intent"
            value="move"
            formAction="/bulk"
            formMethod="get"
            className="btn-secondary"
            disabled={disabled}
          >
            Move…
          </button>
          <button
            type="submit"
            name="intent"
            value="trash"
            formAction="/bulk"
            formMethod="get"
            className="btn-secondary"
            disabled={disabled}
          >
            Move to trash…
          </button>
        </>
      ) : null}
    </div>
  );
}

function DetailsLink({ kind, id, name }: { kind: "file" | "folder"; id: string; name: string }) {
  return (
    <Link to={`/details/${kind}/${id}`} className="text-blue-800 underline-offset-2 hover:underline">
      Details<span className="sr-only">{` of ${name}`}</span>
    </Link>
  );
}

/** "type/subtype", allowed to wrap after the slash and nowhere else (not at a subtype's hyphen). */
function MimeType({ value }: { value: string }) {
  const slash = value.indexOf("/");
  if (slash < 0) return <span className="whitespace-nowrap">{value}</span>;
  return (
    <>
      <span className="whitespace-nowrap">{value.slice(0, slash + 1)}</span>
      <wbr />
      <span className="whitespace-nowrap">{value.slice(slash + 1)}</span>
    </>
  );
}

function ListView({ listing, queryFor }: { listing: FolderListing; queryFor: QueryFor }) {
  const drag = useDragMove();
  return (
    <table className="w-full text-left text-sm">
      <thead className="border-b border-slate-200 bg-slate-50 text-slate-700">
        <tr>
          <SortHeader column="name" listing={listing} queryFor={queryFor} />
          <SortHeader column="size" listing={listing} queryFor={queryFor} />
          <SortHeader column="type" listing={listing} queryFor={queryFor} className="hidden sm:table-cell" />
          <SortHeader column="modified" listing={listing} queryFor={queryFor} className="hidden md:table-cell" />
          <th scope="col" className="px-4 py-2 font-medium">
            <span className="sr-only">Details</span>
          </th>
        </tr>
      </thead>
      <tbody className="divide-y divide-slate-100">
        {listing.folders.map((child) => (
          <tr
            key={child.id}
            className={`hover:bg-slate-50 ${dropHighlight(!!drag?.isOver(child.id))}`}
            data-testid="listing-folder"
            {...drag?.dragSource("folder", child.id)}
            {...drag?.dropTarget(child.id, child.name)}
          >
            <td className="px-4 py-2">
              {/* The checkbox sits in the name cell, so the name stays the row's first cell. */}
              <div className="flex items-center gap-3">
                <SelectBox kind="folder" id={child.id} name={child.name} />
                <Link to={`/files/${child.id}`} className="flex items-center gap-2 font-medium text-blue-800 hover:underline">
                  <FolderIcon />
                  <span className="line-clamp-3 wrap-anywhere" title={child.name}>
                    {child.name}
                  </span>
                </Link>
              </div>
            </td>
            <td className="px-4 py-2 text-slate-600">—</td>
            <td className="hidden px-4 py-2 text-slate-600 sm:table-cell">Folder</td>
            <td className="hidden px-4 py-2 whitespace-nowrap text-slate-600 md:table-cell">{formatDate(child.updatedAt)}</td>
            <td className="px-4 py-2 text-right whitespace-nowrap">
              <DetailsLink kind="folder" id={child.id} name={child.name} />
            </td>
          </tr>
        ))}
        {listing.files.map((file) => (
          <tr key={file.id} className="hover:bg-slate-50" data-testid="listing-file" {...drag?.dragSource("file", file.id)}>
            <td className="px-4 py-2">
              <div className="flex items-center gap-3">
                <SelectBox kind="file" id={file.id} name={file.name} />
                <a href={`/download/${file.id}`} className="flex items-center gap-2 text-blue-800 hover:underline" download>
                  <FileIcon />
                  <span className="line-clamp-3 wrap-anywhere" title={file.name}>
                    {file.name}
                  </span>
                </a>
              </div>
            </td>
            <td className="px-4 py-2 whitespace-nowrap text-slate-700">{formatBytes(file.size)}</td>
            <td className="hidden px-4 py-2 text-slate-600 sm:table-cell">
              <MimeType value={file.mimeType} />
            </td>
            <td className="hidden px-4 py-2 whitespace-nowrap text-slate-600 md:table-cell">{formatDate(file.updatedAt)}</td>
            <td className="px-4 py-2 text-right whitespace-nowrap">
              <DetailsLink kind="file" id={file.id} name={file.name} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The picture at the top of a grid tile: the file's thumbnail when one was made, else its icon. */
function TilePreview({ file }: { file?: Pick<ListedFile, "id" | "thumbnailKey" | "mimeType"> }) {
  return (
    <div
      className="flex aspect-[4/3] items-center justify-center overflow-hidden rounded-md bg-slate-50"
      data-thumbnail-slot={file ? file.id : undefined}
    >
      {file?.thumbnailKey ? (
        <img src={thumbnailUrl(file.id, file.thumbnailKey)} alt="" loading="lazy" className="h-full w-full object-contain" />
      ) : file ? (
        <FileIcon className="h-10 w-10 text-slate-500" />
      ) : (
        <FolderIcon className="h-12 w-12 text-amber-500" />
      )}
    </div>
  );
}

function GridView({ listing }: { listing: FolderListing }) {
  const drag = useDragMove();
  const tile = "card flex h-full flex-col gap-2 p-3 text-sm";
  return (
    <ul className="grid grid-cols-2 gap-3 sm:grid-cols-3 md:grid-cols-4 xl:grid-cols-5" data-testid="folder-grid">
      {listing.folders.map((child) => (
        <li key={child.id} data-testid="listing-folder">
          <div
            className={`${tile} ${dropHighlight(!!drag?.isOver(child.id))}`}
            {...drag?.dragSource("folder", child.id)}
            {...drag?.dropTarget(child.id, child.name)}
          >
            <Link to={`/files/${child.id}`} className="flex flex-col gap-2 font-medium text-blue-800 hover:underline">
              <TilePreview />
              <span className="wrap-anywhere">{child.name}</span>
            </Link>
            <div className="mt-auto flex items-center justify-between gap-2 text-slate-600">
              <SelectBox kind="folder" id={child.id} name={child.name} />
              <span>Folder</span>
              <DetailsLink kind="folder" id={child.id} name={child.name} />
            </div>
          </div>
        </li>
      ))}
      {listing.files.map((file) => (
        <li key={file.id} data-testid="listing-file">
          <div className={tile} {...drag?.dragSource("file", file.id)}>
            <a href={`/download/${file.id}`} className="flex flex-col gap-2 text-blue-800 hover:underline" download>
              <TilePreview file={file} />
              <span className="wrap-anywhere">{file.name}</span>
            </a>
            <div className="mt-auto flex items-center justify-between gap-2 text-slate-600">
              <SelectBox kind="file" id={file.id} name={file.name} />
              <span className="whitespace-nowrap">{formatBytes(file.size)}</span>
              <DetailsLink kind="file" id={file.id} name={file.name} />
            </div>
          </div>
        </li>
      ))}
    </ul>
  );
}

function Pagination({ listing, queryFor }: { listing: FolderListing; queryFor: QueryFor }) {
  if (!listing.prevCursor && !listing.nextCursor) return null;
  return (
    <nav aria-label="Pages" className="flex flex-wrap items-center justify-end gap-2">
      {listing.prevCursor ? (
        <>
          <Link to={queryFor({})} className="btn-secondary">
            First page
          </Link>
          <Link to={queryFor({ before: listing.prevCursor })} className="btn-secondary" rel="prev">
            Previous page
          </Link>
        </>
      ) : null}
      {listing.nextCursor ? (
        <Link to={queryFor({ after: listing.nextCursor })} className="btn-secondary" rel="next">
          Next page
        </Link>
      ) : null}
    </nav>
  );
}
