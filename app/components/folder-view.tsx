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
import { DropOverlay, UploadButton, UploadProvider, UploadQueuePanel } from "./upload-panel";
import { UsageMeter } from "./usage-meter";
import { CsrfInput } from "~/components/csrf-input";
import { FolderShortcuts, ShortcutsHelp } from "./shortcuts";
import { Button, ButtonLink, buttonClass } from "./ui/button";
import { Badge } from "./ui/badge";
import { Card } from "./ui/card";
import { cx } from "./ui/cx";
import { EmptyState } from "./ui/empty-state";
import { Input, Label, Select } from "./ui/input";
import { Menu, MenuSeparator, menuItemClass } from "./ui/menu";

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
    <div
      role="alert"
      className="rounded-panel border border-warning-border bg-warning-soft p-4 text-sm text-text"
      data-testid="folder-gone"
    >
      <p className="font-medium">This folder was moved to the trash or deleted, in another tab or by someone else.</p>
      <p className="mt-1">
        Uploads still running here finish and say where their files went.{" "}
        <Link to="/trash" className="link">
          Open the trash
        </Link>{" "}
        or{" "}
        <Link to="/files" className="link">
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
      <h2 id="account-usage-heading" className="text-sm font-semibold text-text-muted">
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
  const current = crumbs.at(-1);
  const folderName = current?.name ?? "My files";
  const isEmpty = listing.folders.length === 0 && listing.files.length === 0 && !listing.prevCursor;
  const folderPath = folder.isRoot ? "/files" : `/files/${folder.id}`;
  const queryFor = makeQueryFor(folderPath, { sort: listing.sort, dir: listing.dir, view });

  useEffect(() => {
    const input = document.getElementById("new-folder-name");
    if (result?.ok && input instanceof HTMLInputElement) input.value = "";
  }, [result]);
  useEffect(() => {
    if (!gone) rememberFolderPage(pathname, page);
  }, [gone, pathname, page]);

  // Without JavaScript this plain form (in the Upload dialog) streams the files to the server.
  const plainUploadForm = (
    <Form method="post" encType="multipart/form-data" className="space-y-3">
      <CsrfInput />
      {/* Before the file field: the server reads it before the file's bytes arrive. */}
      <div>
        <Label htmlFor="upload-on-conflict">If a name is taken</Label>
        <Select id="upload-on-conflict" name="onConflict" defaultValue="keep-both">
          <option value="keep-both">Keep both</option>
          <option value="replace">Replace (keep the old one as a version)</option>
          <option value="cancel">Don’t upload it</option>
        </Select>
      </div>
      <div>
        <Label htmlFor="upload-file">Files</Label>
        <input id="upload-file" name="file" type="file" multiple required className="text-sm" />
      </div>
      <p className="text-sm text-text-muted">Up to {formatBytes(maxUploadSize)} per file.</p>
      <Button type="submit" variant="primary" disabled={uploadingWithoutJs}>
        {uploadingWithoutJs ? "Uploading…" : "Upload"}
      </Button>
    </Form>
  );

  const body = (
    <div className="lg:grid lg:grid-cols-[15rem_minmax(0,1fr)] lg:gap-8">
      {tree ? (
        <div className="hidden lg:block">
          <h2 className="mb-2 px-2 text-sm font-semibold text-text-muted">Folders</h2>
          <FolderTree tree={tree} />
          {usage ? <AccountUsage usage={usage} /> : null}
        </div>
      ) : null}
      <div className="min-w-0 space-y-4" data-testid={folder.canWrite ? "upload-drop-zone" : undefined}>
        <Breadcrumbs crumbs={crumbs} href={(crumb) => (crumb.isRoot ? "/files" : `/files/${crumb.id}`)} />

        {tree ? (
          // Small screens: the tree folds away above the listing (a native disclosure, no script).
          <details className="rounded-panel border border-border bg-surface-raised lg:hidden">
            <summary className="cursor-pointer px-4 py-2 text-sm font-medium text-text">Folders</summary>
            <div className="px-2 pb-3">
              <FolderTree tree={tree} />
              {usage ? <AccountUsage usage={usage} /> : null}
            </div>
          </details>
        ) : null}

        <div className="flex flex-wrap items-end justify-between gap-4">
          <div className="space-y-1">
            <h1 className="text-2xl font-semibold break-all">{folderName}</h1>
            {size !== null ? (
              <p className="text-sm text-text-muted" data-testid="folder-size">
                {`${size.capped ? "At least " : ""}${formatBytes(size.bytes)} in this folder`}
              </p>
            ) : null}
          </div>
          {folder.canWrite ? (
            <Form method="post" className="flex items-end gap-2">
              <CsrfInput />
              <input type="hidden" name="intent" value="create-folder" />
              <div>
                <Label htmlFor="new-folder-name">New folder</Label>
                <Input
                  id="new-folder-name"
                  name="name"
                  required
                  maxLength={255}
                  placeholder="Folder name"
                  aria-invalid={result && !result.ok && result.fieldErrors?.name ? true : undefined}
                  aria-describedby={result && !result.ok && result.fieldErrors?.name ? "new-folder-error" : undefined}
                />
              </div>
              <Button type="submit" disabled={busyIntent === "create-folder"}>
                {busyIntent === "create-folder" ? "Creating…" : "Create folder"}
              </Button>
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

        <Toolbar
          view={view}
          sort={listing.sort}
          dir={listing.dir}
          counts={isEmpty ? null : counts}
          action={folderPath}
          folderId={folder.id}
          folderName={folderName}
          upload={folder.canWrite ? <UploadButton plainForm={plainUploadForm} /> : null}
        />

        {/* One plain form around the listing (no other forms inside it): the row checkboxes and the
          bulk bar's buttons submit the selection, with or without JavaScript. */}
        <form id="bulk-form" method="get" action="/bulk" className="space-y-3">
          <input type="hidden" name="from" value={folderPath} />
          {isEmpty ? null : <BulkBar canWrite={folder.canWrite} />}
          <section aria-labelledby="contents-heading" data-testid="listing">
            <h2 id="contents-heading" className="sr-only">
              Folder contents
            </h2>
            {isEmpty ? (
              <EmptyState title="This folder is empty.">
                {folder.canWrite
                  ? "Upload files (or drop them anywhere on the page) or create a folder to get started."
                  : "Nothing has been put here yet."}
              </EmptyState>
            ) : view === "grid" ? (
              <GridView listing={listing} canWrite={folder.canWrite} from={folderPath} />
            ) : (
              <Card padding="none">
                <ListView listing={listing} queryFor={queryFor} canWrite={folder.canWrite} from={folderPath} />
              </Card>
            )}
          </section>
        </form>

        <Pagination listing={listing} queryFor={queryFor} />
      </div>
      <FolderShortcuts />
    </div>
  );

  return (
    <DragMoveProvider enabled={folder.canWrite} from={folderPath}>
      {folder.canWrite ? (
        <UploadProvider folderId={folder.id} maxUploadSize={maxUploadSize}>
          {body}
          <DropOverlay folderName={folderName} />
          <UploadQueuePanel />
        </UploadProvider>
      ) : (
        body
      )}
    </DragMoveProvider>
  );
}

function plural(count: number, one: string, many: string, capped = false) {
  return `${capped && count >= COUNT_LIMIT ? "more than " : ""}${count.toLocaleString("en-GB")} ${count === 1 ? one : many}`;
}

/**
 * The folder toolbar: Upload, a search in this folder, the summary line, the view switch and a
 * sort form (the grid and small screens have no column headers), and the keyboard shortcuts.
 */
function Toolbar({
  view,
  sort,
  dir,
  counts,
  action,
  folderId,
  folderName,
  upload,
}: {
  view: FolderViewMode;
  sort: SortKey;
  dir: SortDir;
  counts: FolderCounts | null;
  action: string;
  folderId: string;
  folderName: string;
  upload: React.ReactNode;
}) {
  const queryFor = makeQueryFor(action, { sort, dir, view });
  return (
    <div className="space-y-3" data-testid="folder-toolbar">
      <div className="flex flex-wrap items-center gap-2">
        {upload}
        <form
          method="get"
          action="/search"
          role="search"
          aria-label="In this folder"
          className="flex min-w-[14rem] flex-1 items-center gap-2 sm:max-w-sm"
        >
          <input type="hidden" name="folder" value={folderId} />
          <label htmlFor="folder-search" className="sr-only">
            {`Search in “${folderName}”`}
          </label>
          <Input id="folder-search" name="q" type="search" placeholder={`Search in ${folderName}`} className="min-w-0" />
          <Button type="submit">Search</Button>
        </form>
        <ShortcutsHelp />
      </div>
      {counts ? (
        <div className="flex flex-wrap items-end justify-between gap-x-6 gap-y-3">
          <p className="text-sm text-text-muted" data-testid="folder-summary">
            {`${plural(counts.folders, "folder", "folders", counts.capped)}, ${plural(counts.files, "file", "files", counts.capped)}`}
          </p>
          <div className="flex flex-wrap items-end gap-x-6 gap-y-3">
            <Form method="get" action={action} className="flex items-end gap-2">
              {view === "grid" ? <input type="hidden" name="view" value="grid" /> : null}
              <div>
                <Label htmlFor="sort-by">Sort by</Label>
                <Select id="sort-by" name="sort" defaultValue={sort} key={`sort-${sort}`} className="w-auto py-1.5">
                  {(Object.keys(SORT_LABELS) as SortKey[]).map((key) => (
                    <option key={key} value={key}>
                      {SORT_LABELS[key]}
                    </option>
                  ))}
                </Select>
              </div>
              <div>
                <Label htmlFor="sort-dir">Order</Label>
                <Select id="sort-dir" name="dir" defaultValue={dir} key={`dir-${dir}`} className="w-auto py-1.5">
                  <option value="asc">Ascending</option>
                  <option value="desc">Descending</option>
                </Select>
              </div>
              <Button type="submit">Sort</Button>
            </Form>
            <div role="group" aria-label="View" className="flex overflow-hidden rounded-control border border-border-strong text-sm">
              {(["list", "grid"] as const).map((mode) => (
                <Link
                  key={mode}
                  to={queryFor({ view: mode })}
                  aria-current={view === mode ? "true" : undefined}
                  className={cx(
                    "px-3 py-2 font-medium",
                    view === mode ? "bg-accent text-on-accent" : "bg-surface-raised text-text hover:bg-surface-hover",
                  )}
                >
                  {mode === "list" ? "List" : "Grid"}
                  <span className="sr-only"> view</span>
                </Link>
              ))}
            </div>
          </div>
        </div>
      ) : null}
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
        <span aria-hidden="true" className={active ? "text-text" : "text-text-muted"}>
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
 * ZIP to /bulk/zip, Move…/Copy… to the /bulk destination page, trash to the /bulk confirmation.
 * With JavaScript there is also "Select all" and a live count, and while anything is selected the
 * bar sticks to the top of the window with "Clear selection".
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
    // The keyboard shortcuts select rows without a change event.
    document.addEventListener("coffer:selection", recount);
    // The listing changes under the same form (sorting, paging, live updates).
    const observer = new MutationObserver(recount);
    observer.observe(form, { childList: true, subtree: true });
    return () => {
      document.removeEventListener("change", recount);
      document.removeEventListener("coffer:selection", recount);
      observer.disconnect();
    };
  }, []);

  const selectAll = (checked: boolean) => {
    for (const box of document.querySelectorAll<HTMLInputElement>('input[data-bulk-item][form="bulk-form"]')) box.checked = checked;
    setCount(checked ? total : 0);
  };

  const disabled = hydrated && count === 0;
  const active = hydrated && count > 0;
  // While the bar sticks to the top, rows focused above it scroll below it (focus not obscured).
  useEffect(() => {
    const bar = barRef.current;
    if (!active || !bar) return;
    const root = document.documentElement;
    root.style.scrollPaddingTop = `${Math.ceil(bar.getBoundingClientRect().height) + 8}px`;
    return () => {
      root.style.scrollPaddingTop = "";
    };
  }, [active]);
  return (
    <div
      ref={barRef}
      role="group"
      aria-label="Selected items"
      className={cx(
        "flex flex-wrap items-center gap-2 text-sm",
        active && "sticky top-0 z-30 rounded-panel border border-accent-border bg-accent-soft px-3 py-2 shadow-md",
      )}
      data-testid="bulk-bar"
      data-active={active ? "true" : "false"}
    >
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
          <span aria-live="polite" className="min-w-[6rem] text-text" data-testid="bulk-count">
            {`${count} selected`}
          </span>
        </>
      ) : (
        <span className="text-text-muted">With the selected items:</span>
      )}
      <button type="submit" formAction="/bulk/zip" formMethod="get" className={buttonClass("secondary", "sm")} disabled={disabled}>
        Download as ZIP
      </button>
      <button
        type="submit"
        name="intent"
        value="copy"
        formAction="/bulk"
        formMethod="get"
        className={buttonClass("secondary", "sm")}
        disabled={disabled}
      >
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
            className={buttonClass("secondary", "sm")}
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
            className={buttonClass("secondary", "sm")}
            disabled={disabled}
            data-shortcut="trash-selection"
          >
            Move to trash…
          </button>
        </>
      ) : null}
      {active ? (
        <Button size="sm" variant="ghost" onClick={() => selectAll(false)}>
          Clear selection
        </Button>
      ) : null}
    </div>
  );
}

function DetailsLink({ kind, id, name }: { kind: "file" | "folder"; id: string; name: string }) {
  return (
    <Link to={`/details/${kind}/${id}`} className="text-accent-text underline-offset-2 hover:underline">
      Details<span className="sr-only">{` of ${name}`}</span>
    </Link>
  );
}

/** Where a row's actions go: pages that do them, so each works without JavaScript. */
function rowLinks(kind: "file" | "folder", id: string, from: string) {
  const details = `/details/${kind}/${id}`;
  return {
    open: kind === "folder" ? `/files/${id}` : details,
    download: kind === "file" ? `/download/${id}` : `/bulk/zip?${new URLSearchParams({ from, item: `folder:${id}` })}`,
    share: `${details}?tab=sharing`,
    rename: `${details}#rename`,
    move: `${details}#move`,
    copy: `${details}#copy`,
    details,
    trash: `${details}#trash`,
  };
}

/** A row's (or tile's) actions menu: open, download, share, rename, move, copy, details, trash. */
function RowMenu({
  kind,
  id,
  name,
  canWrite,
  from,
}: {
  kind: "file" | "folder";
  id: string;
  name: string;
  canWrite: boolean;
  from: string;
}) {
  const links = rowLinks(kind, id, from);
  return (
    <Menu
      label={
        <>
          <span aria-hidden="true">⋯</span>
          <span className="sr-only">{`Actions for ${name}`}</span>
        </>
      }
      summaryClassName={buttonClass("ghost", "sm", "min-w-8")}
      testId="row-menu"
    >
      <Link to={links.open} className={menuItemClass}>
        Open
      </Link>
      {kind === "file" ? (
        <a href={links.download} className={menuItemClass} download>
          Download
        </a>
      ) : (
        <a href={links.download} className={menuItemClass}>
          Download as ZIP
        </a>
      )}
      <Link to={links.share} className={menuItemClass}>
        Share
      </Link>
      {canWrite ? (
        <Link to={links.rename} className={menuItemClass}>
          Rename
        </Link>
      ) : null}
      {canWrite ? (
        <Link to={links.move} className={menuItemClass}>
          Move
        </Link>
      ) : null}
      <Link to={links.copy} className={menuItemClass}>
        Copy
      </Link>
      <Link to={links.details} className={menuItemClass}>
        Details
      </Link>
      {canWrite ? (
        <>
          <MenuSeparator />
          <Link to={links.trash} className={cx(menuItemClass, "text-danger")}>
            Move to trash
          </Link>
        </>
      ) : null}
    </Menu>
  );
}

/** The data the keyboard shortcuts read from a row: where Enter and F2 go. */
function rowData(kind: "file" | "folder", id: string, from: string) {
  const links = rowLinks(kind, id, from);
  return { "data-row": kind, "data-open-href": links.open, "data-rename-href": links.rename };
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

function ListView({ listing, queryFor, canWrite, from }: { listing: FolderListing; queryFor: QueryFor; canWrite: boolean; from: string }) {
  const drag = useDragMove();
  // Below 640 px the table lays out as a list: one line per item, name and actions.
  const row = "hover:bg-surface-hover max-sm:flex max-sm:items-center";
  const cell = "px-4 py-2 max-sm:px-2";
  return (
    <table className="w-full text-left text-sm max-sm:block">
      <thead className="border-b border-border bg-surface text-text-muted max-sm:hidden">
        <tr>
          <SortHeader column="name" listing={listing} queryFor={queryFor} />
          <SortHeader column="size" listing={listing} queryFor={queryFor} />
          <SortHeader column="type" listing={listing} queryFor={queryFor} className="hidden sm:table-cell" />
          <SortHeader column="modified" listing={listing} queryFor={queryFor} className="hidden md:table-cell" />
          <th scope="col" className="px-4 py-2 font-medium">
            <span className="sr-only">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody className="divide-y divide-border max-sm:block">
        {listing.folders.map((child) => (
          <tr
            key={child.id}
            className={cx(row, dropHighlight(!!drag?.isOver(child.id)))}
            data-testid="listing-folder"
            {...rowData("folder", child.id, from)}
            {...drag?.dragSource("folder", child.id)}
            {...drag?.dropTarget(child.id, child.name)}
          >
            <td className={cx(cell, "max-sm:min-w-0 max-sm:flex-1")}>
              {/* The checkbox sits in the name cell, so the name stays the row's first cell. */}
              <div className="flex items-center gap-3">
                <SelectBox kind="folder" id={child.id} name={child.name} />
                <Link to={`/files/${child.id}`} className="flex min-w-0 items-center gap-2 font-medium text-accent-text hover:underline">
                  <FolderIcon />
                  <span className="line-clamp-3 wrap-anywhere" title={child.name}>
                    {child.name}
                  </span>
                </Link>
                <HeldBadge held={child.held} />
              </div>
            </td>
            <td className={cx(cell, "text-text-muted max-sm:hidden")}>—</td>
            <td className={cx(cell, "hidden text-text-muted sm:table-cell")}>Folder</td>
            <td className={cx(cell, "hidden whitespace-nowrap text-text-muted md:table-cell")}>{formatDate(child.updatedAt)}</td>
            <td className={cx(cell, "text-right whitespace-nowrap")}>
              <div className="flex items-center justify-end gap-2">
                <DetailsLink kind="folder" id={child.id} name={child.name} />
                <RowMenu kind="folder" id={child.id} name={child.name} canWrite={canWrite} from={from} />
              </div>
            </td>
          </tr>
        ))}
        {listing.files.map((file) => (
          <tr
            key={file.id}
            className={row}
            data-testid="listing-file"
            {...rowData("file", file.id, from)}
            {...drag?.dragSource("file", file.id)}
          >
            <td className={cx(cell, "max-sm:min-w-0 max-sm:flex-1")}>
              <div className="flex items-center gap-3">
                <SelectBox kind="file" id={file.id} name={file.name} />
                <a href={`/download/${file.id}`} className="flex min-w-0 items-center gap-2 text-accent-text hover:underline" download>
                  <FileIcon />
                  <span className="line-clamp-3 wrap-anywhere" title={file.name}>
                    {file.name}
                  </span>
                </a>
                <HeldBadge held={file.held} />
              </div>
            </td>
            <td className={cx(cell, "whitespace-nowrap text-text max-sm:text-xs max-sm:text-text-muted")}>{formatBytes(file.size)}</td>
            <td className={cx(cell, "hidden text-text-muted sm:table-cell")}>
              <MimeType value={file.mimeType} />
            </td>
            <td className={cx(cell, "hidden whitespace-nowrap text-text-muted md:table-cell")}>{formatDate(file.updatedAt)}</td>
            <td className={cx(cell, "text-right whitespace-nowrap")}>
              <div className="flex items-center justify-end gap-2">
                <DetailsLink kind="file" id={file.id} name={file.name} />
                <RowMenu kind="file" id={file.id} name={file.name} canWrite={canWrite} from={from} />
              </div>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A legal hold covers the item (docs/retention-and-holds.md): it cannot be deleted. */
function HeldBadge({ held }: { held?: boolean }) {
  if (!held) return null;
  return (
    <Badge tone="warning" className="shrink-0 whitespace-nowrap">
      Legal hold
    </Badge>
  );
}

/** The picture at the top of a grid tile: the file's thumbnail when one was made, else its icon. */
function TilePreview({ file }: { file?: Pick<ListedFile, "id" | "thumbnailKey" | "mimeType"> }) {
  return (
    <div
      className="flex aspect-[4/3] items-center justify-center overflow-hidden rounded-control bg-surface"
      data-thumbnail-slot={file ? file.id : undefined}
    >
      {file?.thumbnailKey ? (
        <img src={thumbnailUrl(file.id, file.thumbnailKey)} alt="" loading="lazy" className="h-full w-full object-contain" />
      ) : file ? (
        <FileIcon className="h-10 w-10 text-text-muted" />
      ) : (
        <FolderIcon className="h-12 w-12 text-warning" />
      )}
    </div>
  );
}

function GridView({ listing, canWrite, from }: { listing: FolderListing; canWrite: boolean; from: string }) {
  const drag = useDragMove();
  const tile = "flex h-full flex-col gap-2 text-sm";
  return (
    <ul className="grid grid-cols-2 gap-3 sm:grid-cols-3 md:grid-cols-4 xl:grid-cols-5" data-testid="folder-grid">
      {listing.folders.map((child) => (
        <li key={child.id} data-testid="listing-folder" {...rowData("folder", child.id, from)}>
          <Card
            padding="none"
            className={cx(tile, "p-3", dropHighlight(!!drag?.isOver(child.id)))}
            {...drag?.dragSource("folder", child.id)}
            {...drag?.dropTarget(child.id, child.name)}
          >
            <Link to={`/files/${child.id}`} className="flex flex-col gap-2 font-medium text-accent-text hover:underline">
              <TilePreview />
              <span className="wrap-anywhere">{child.name}</span>
            </Link>
            <HeldBadge held={child.held} />
            <div className="mt-auto flex items-center justify-between gap-2 text-text-muted">
              <SelectBox kind="folder" id={child.id} name={child.name} />
              <span>Folder</span>
              <DetailsLink kind="folder" id={child.id} name={child.name} />
              <RowMenu kind="folder" id={child.id} name={child.name} canWrite={canWrite} from={from} />
            </div>
          </Card>
        </li>
      ))}
      {listing.files.map((file) => (
        <li key={file.id} data-testid="listing-file" {...rowData("file", file.id, from)}>
          <Card padding="none" className={cx(tile, "p-3")} {...drag?.dragSource("file", file.id)}>
            <a href={`/download/${file.id}`} className="flex flex-col gap-2 text-accent-text hover:underline" download>
              <TilePreview file={file} />
              <span className="wrap-anywhere">{file.name}</span>
            </a>
            <HeldBadge held={file.held} />
            <div className="mt-auto flex items-center justify-between gap-2 text-text-muted">
              <SelectBox kind="file" id={file.id} name={file.name} />
              <span className="whitespace-nowrap">{formatBytes(file.size)}</span>
              <DetailsLink kind="file" id={file.id} name={file.name} />
              <RowMenu kind="file" id={file.id} name={file.name} canWrite={canWrite} from={from} />
            </div>
          </Card>
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
          <ButtonLink to={queryFor({})}>First page</ButtonLink>
          <ButtonLink to={queryFor({ before: listing.prevCursor })} rel="prev">
            Previous page
          </ButtonLink>
        </>
      ) : null}
      {listing.nextCursor ? (
        <ButtonLink to={queryFor({ after: listing.nextCursor })} rel="next">
          Next page
        </ButtonLink>
      ) : null}
    </nav>
  );
}
