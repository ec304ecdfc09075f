import { Link } from "@remix-run/react";
import { createContext, memo, type ReactNode, useContext, useEffect, useRef, useState } from "react";
import { formatBytes } from "~/lib/format";
import { MOVE_MIME } from "./drag-move";
import { Button, buttonClass } from "./ui/button";
import { Dialog, DialogOpener } from "./ui/dialog";
import { Label, Select } from "./ui/input";
import { Menu, MenuLabel, MenuSeparator, menuItemClass } from "./ui/menu";
import { Progress } from "./ui/progress";
import { cx } from "./ui/cx";
import { directoryOf, entriesOf, filesFromEntries } from "./upload-picking";
import { PARALLEL_CHOICES, useUploadQueue, type ConflictPolicy, type QueueItem } from "./upload-queue";

const displayName = (item: Pick<QueueItem, "name" | "relativePath">) => `${item.relativePath}${item.name}`;

type Queue = ReturnType<typeof useUploadQueue>;
const UploadContext = createContext<{ queue: Queue; maxUploadSize: number } | null>(null);

/** True once the page has hydrated: the resumable uploader replaces the plain form from then on. */
function useHydrated() {
  const [hydrated, setHydrated] = useState(false);
  useEffect(() => setHydrated(true), []);
  return hydrated;
}

/**
 * Resumable uploads with tus when JavaScript runs, for the folder page around it: the toolbar's
 * Upload button (`UploadButton`), "drop anywhere" with a full-window overlay, and the queue as a
 * compact panel fixed in the bottom corner (`UploadQueuePanel`).
 *
 * Files and whole folders can be dropped or chosen; a folder's structure is recreated on the
 * server (each file carries its directory as `relativePath`); empty folders inside a dropped
 * folder are created through POST /folders/path. At most `parallel` uploads run at once, the rest
 * wait as "queued".
 */
export function UploadProvider({ folderId, maxUploadSize, children }: { folderId: string; maxUploadSize: number; children: ReactNode }) {
  const queue = useUploadQueue({ folderId, maxUploadSize });
  return <UploadContext.Provider value={{ queue, maxUploadSize }}>{children}</UploadContext.Provider>;
}

/**
 * The toolbar's primary Upload control. Without JavaScript (and until the page hydrates) it is a
 * link opening the `:target` dialog that holds `plainForm`, the multipart form that streams the
 * files to the server. With JavaScript it is a label around the file input (it opens the picker),
 * with a menu for a whole folder and the upload options.
 */
export function UploadButton({ plainForm }: { plainForm: ReactNode }) {
  const upload = useContext(UploadContext);
  const hydrated = useHydrated();
  const [folderInputSupported, setFolderInputSupported] = useState(true);
  useEffect(() => setFolderInputSupported("webkitdirectory" in document.createElement("input")), []);
  if (!upload || !hydrated) {
    return (
      <>
        <DialogOpener dialogId="upload-dialog" variant="primary">
          Upload
        </DialogOpener>
        <Dialog id="upload-dialog" title="Upload files">
          {plainForm}
        </Dialog>
      </>
    );
  }
  const { queue, maxUploadSize } = upload;
  return (
    <div className="flex items-center gap-1" data-testid="upload-controls">
      {/* A label wrapping its input: the input is visually hidden, not display:none, so it stays in
          the tab order and the phone's picker opens on a tap; focus-within shows where the focus is. */}
      <label
        className={buttonClass("primary", "md", "cursor-pointer focus-within:ring-2 focus-within:ring-focus focus-within:ring-offset-2")}
      >
        <input
          id="tus-file-input"
          data-testid="tus-file-input"
          data-shortcut="upload"
          type="file"
          multiple
          className="sr-only"
          onChange={(event) => {
            const files = Array.from(event.currentTarget.files ?? [], (file) => ({ file, relativePath: "" }));
            event.currentTarget.value = "";
            queue.addFiles(files);
          }}
        />
        Upload
      </label>
      <Menu label={<span aria-hidden="true">▾</span>} name="Upload options" align="start" testId="upload-options">
        {folderInputSupported ? (
          <label className={cx(menuItemClass, "cursor-pointer focus-within:bg-surface-hover")}>
            <input
              id="tus-folder-input"
              data-testid="tus-folder-input"
              type="file"
              multiple
              className="sr-only"
              {...{ webkitdirectory: "", directory: "" }}
              onChange={(event) => {
                const files = Array.from(event.currentTarget.files ?? [], (file) => ({
                  file,
                  relativePath: directoryOf(file.webkitRelativePath),
                }));
                event.currentTarget.value = "";
                queue.addFiles(files);
              }}
            />
            Upload a folder
          </label>
        ) : null}
        <MenuSeparator />
        <MenuLabel>Options</MenuLabel>
        <div className="space-y-2 px-3 pb-2">
          <div>
            <Label htmlFor="tus-on-conflict">If a name is taken</Label>
            <Select
              id="tus-on-conflict"
              value={queue.onConflict}
              onChange={(event) => queue.setOnConflict(event.currentTarget.value as ConflictPolicy)}
            >
              <option value="keep-both">Keep both</option>
              <option value="replace">Replace (keep the old one as a version)</option>
              <option value="cancel">Don’t upload it</option>
            </Select>
          </div>
          <div>
            <Label htmlFor="tus-parallel">At once</Label>
            <Select id="tus-parallel" value={queue.parallel} onChange={(event) => queue.setParallel(Number(event.currentTarget.value))}>
              {PARALLEL_CHOICES.map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </Select>
          </div>
          <p className="text-xs text-text-muted">
            Up to {formatBytes(maxUploadSize)} per file. Or drop files and folders anywhere on the page. Uploads resume after a lost
            connection or a page reload.
          </p>
        </div>
      </Menu>
    </div>
  );
}

const hasFiles = (transfer: DataTransfer | null) => {
  if (!transfer) return false;
  const types = Array.from(transfer.types);
  // Items dragged within the listing (to move them) are not uploads.
  return types.includes("Files") && !types.includes(MOVE_MIME);
};

/** The folder row, tile, crumb or tree node under a drag of files, if any (drag-move.tsx's drop targets). */
function folderTargetOf(event: DragEvent): { element: HTMLElement; id: string; name: string } | null {
  const element = event.target instanceof Element ? event.target.closest<HTMLElement>("[data-drop-folder]") : null;
  const id = element?.dataset.dropFolder;
  if (!element || !id) return null;
  return { element, id, name: element.dataset.dropName ?? "" };
}

/**
 * "Drop anywhere": while files are dragged over the window a full-window overlay says where they
 * go; dropping them anywhere uploads them into the page's folder. Dropped on a folder (a row or
 * tile of the listing, a crumb, a node of the tree) they go into that folder instead: the overlay
 * then steps aside to a banner naming it, and the folder is marked. Keyboard and single-pointer
 * users have the Upload button.
 */
export function DropOverlay({ folderName }: { folderName: string }) {
  const upload = useContext(UploadContext);
  const [dragging, setDragging] = useState(false);
  const [target, setTarget] = useState<{ id: string; name: string } | null>(null);
  const queueRef = useRef(upload?.queue);
  queueRef.current = upload?.queue;
  const enabled = upload !== null;

  useEffect(() => {
    if (!enabled) return;
    // dragenter/dragleave fire for every element crossed: count them to know when the drag left the window.
    let depth = 0;
    let marked: HTMLElement | null = null;
    const mark = (element: HTMLElement | null) => {
      if (marked === element) return;
      marked?.removeAttribute("data-upload-over");
      element?.setAttribute("data-upload-over", "");
      marked = element;
    };
    const stop = () => {
      depth = 0;
      mark(null);
      setTarget(null);
      setDragging(false);
    };
    const onEnter = (event: DragEvent) => {
      if (!hasFiles(event.dataTransfer)) return;
      depth++;
      setDragging(true);
    };
    const onLeave = (event: DragEvent) => {
      if (!hasFiles(event.dataTransfer)) return;
      depth = Math.max(0, depth - 1);
      if (depth === 0) stop();
    };
    const onOver = (event: DragEvent) => {
      if (!hasFiles(event.dataTransfer)) return;
      event.preventDefault();
      setDragging(true);
      const over = folderTargetOf(event);
      mark(over?.element ?? null);
      setTarget((current) => (current?.id === over?.id ? current : over ? { id: over.id, name: over.name } : null));
    };
    const onDrop = (event: DragEvent) => {
      const into = folderTargetOf(event)?.id;
      stop();
      const transfer = event.dataTransfer;
      if (!transfer || Array.from(transfer.types).includes(MOVE_MIME) || event.defaultPrevented) return;
      if (transfer.files.length === 0 && !Array.from(transfer.types).includes("Files")) return;
      event.preventDefault();
      const queue = queueRef.current;
      if (!queue) return;
      // Entries must be taken while the drop event runs; the list is emptied afterwards.
      const entries = entriesOf(transfer);
      if (entries)
        void filesFromEntries(entries).then(({ files, emptyDirs }) => {
          queue.addFiles(files, into);
          if (emptyDirs.length > 0) void queue.addEmptyFolders(emptyDirs, into);
        });
      else
        queue.addFiles(
          Array.from(transfer.files, (file) => ({ file, relativePath: "" })),
          into,
        );
    };
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "Escape") stop();
    };
    window.addEventListener("dragenter", onEnter);
    window.addEventListener("dragleave", onLeave);
    window.addEventListener("dragover", onOver);
    window.addEventListener("drop", onDrop);
    window.addEventListener("keydown", onKey);
    return () => {
      mark(null);
      window.removeEventListener("dragenter", onEnter);
      window.removeEventListener("dragleave", onLeave);
      window.removeEventListener("dragover", onOver);
      window.removeEventListener("drop", onDrop);
      window.removeEventListener("keydown", onKey);
    };
  }, [enabled]);

  if (!dragging) return null;
  if (target) {
    // Over a folder: the listing stays visible, so the marked row shows where the files go.
    return (
      <div
        data-testid="drop-overlay"
        data-drop-into={target.id}
        className="pointer-events-none fixed inset-x-0 bottom-6 z-50 flex justify-center p-4"
      >
        <div className="rounded-panel border-2 border-dashed border-accent-border bg-surface-raised px-6 py-3 text-center shadow-xl">
          <p className="font-semibold text-text">{`Drop to upload into “${target.name}”`}</p>
        </div>
      </div>
    );
  }
  return (
    <div
      data-testid="drop-overlay"
      className="pointer-events-none fixed inset-0 z-50 flex items-center justify-center bg-surface/80 p-6 backdrop-blur-sm"
    >
      <div className="rounded-panel border-2 border-dashed border-accent-border bg-surface-raised px-10 py-8 text-center shadow-xl">
        <p className="text-lg font-semibold text-text">Drop to upload</p>
        <p className="mt-1 text-sm text-text-muted">{`Files and folders go into “${folderName}”.`}</p>
      </div>
    </div>
  );
}

/**
 * The queue: a compact panel fixed in the bottom corner, collapsible, with the overall progress,
 * speed and time left, and per file pause, resume and cancel. While it is open the page keeps its
 * height free at the bottom (scroll-padding), so it never hides the focused element.
 */
export function UploadQueuePanel() {
  const upload = useContext(UploadContext);
  const [collapsed, setCollapsed] = useState(false);
  const panelRef = useRef<HTMLElement>(null);
  const queue = upload?.queue;
  const visible = !!queue && (queue.items.length > 0 || queue.unfinished.length > 0 || !!queue.folderNote);

  useEffect(() => {
    const panel = panelRef.current;
    if (!visible || !panel) return;
    const root = document.documentElement;
    const apply = () => {
      const height = Math.ceil(panel.getBoundingClientRect().height) + 16;
      root.style.scrollPaddingBottom = `${height}px`;
      document.body.style.paddingBottom = `${height}px`;
    };
    apply();
    const observer = new ResizeObserver(apply);
    observer.observe(panel);
    // Focus moved under the panel by Tab: scroll it above the panel.
    const onFocus = (event: FocusEvent) => {
      const target = event.target;
      if (!(target instanceof HTMLElement) || panel.contains(target)) return;
      const box = target.getBoundingClientRect();
      const top = panel.getBoundingClientRect().top;
      if (box.bottom > top) window.scrollBy({ top: box.bottom - top + 16 });
    };
    document.addEventListener("focusin", onFocus);
    return () => {
      observer.disconnect();
      document.removeEventListener("focusin", onFocus);
      root.style.scrollPaddingBottom = "";
      document.body.style.paddingBottom = "";
    };
  }, [visible]);

  if (!queue || !visible) return null;
  const { items, totals, unfinished, folderNote } = queue;
  const percent =
    totals.bytes > 0 ? Math.floor((totals.sent / totals.bytes) * 100) : totals.files > 0 && totals.done === totals.files ? 100 : 0;
  const summary = `${totals.done} of ${totals.files} files, ${formatBytes(totals.sent)} of ${formatBytes(totals.bytes)}${
    totals.speed > 0 ? ` · ${formatBytes(totals.speed)}/s` : ""
  }${totals.speed > 0 && totals.remaining > 0 ? ` · ${formatDuration(totals.remaining / totals.speed)} left` : ""}`;

  return (
    <section
      ref={panelRef}
      aria-labelledby="upload-heading"
      data-testid="upload-panel"
      data-collapsed={collapsed ? "true" : "false"}
      className="fixed right-2 bottom-2 z-40 flex max-h-[min(28rem,60vh)] w-[min(26rem,calc(100vw-1rem))] flex-col rounded-panel border border-border bg-surface-raised shadow-xl sm:right-4 sm:bottom-4"
    >
      <div className="flex items-center justify-between gap-2 border-b border-border px-3 py-2">
        <h2 id="upload-heading" className="text-sm font-semibold">
          Uploads
        </h2>
        <Button
          size="sm"
          variant="ghost"
          aria-expanded={!collapsed}
          aria-controls="upload-panel-body"
          onClick={() => setCollapsed((value) => !value)}
          data-testid="upload-panel-toggle"
        >
          {collapsed ? "Show" : "Hide"}
          <span className="sr-only"> the upload queue</span>
        </Button>
      </div>
      <div className="space-y-2 px-3 py-2">
        {items.length > 0 ? <Progress label="All uploads" value={percent} detail={`${percent}%`} /> : null}
        {items.length > 0 ? (
          <p className="text-xs text-text-muted" data-testid="upload-totals">
            {summary}
          </p>
        ) : null}
        {/* Announces file counts only (not every byte of progress), so screen readers are not flooded. */}
        <p className="sr-only" aria-live="polite" role="status" data-testid="upload-summary">
          {`${totals.done} of ${totals.files} files uploaded`}
          {totals.uploading > 0 ? `, ${totals.uploading} uploading` : ""}
          {totals.queued > 0 ? `, ${totals.queued} queued` : ""}
          {totals.paused > 0 ? `, ${totals.paused} paused` : ""}
          {totals.failed > 0 ? `, ${totals.failed} failed` : ""}.
        </p>
      </div>
      <div id="upload-panel-body" hidden={collapsed} className="min-h-0 overflow-y-auto px-3 pb-3">
        {folderNote ? (
          <p role="alert" className="field-error mb-2">
            {folderNote}
          </p>
        ) : null}
        {unfinished.length > 0 ? (
          <div className="mb-2 rounded-control border border-warning-border bg-warning-soft p-2 text-xs text-text" role="status">
            <p className="font-medium">Unfinished uploads in this folder</p>
            <ul className="mt-1 list-inside list-disc">
              {unfinished.map((item) => (
                <li key={item.creationTime + (item.metadata.relativePath ?? "") + item.metadata.filename}>
                  {item.metadata.relativePath ?? ""}
                  {item.metadata.filename} ({formatBytes(item.size)})
                </li>
              ))}
            </ul>
            <p className="mt-1">Choose the same file (or folder) again to continue where it stopped.</p>
          </div>
        ) : null}
        {items.length > 0 ? (
          <>
            <div className="mb-2 flex flex-wrap gap-1">
              {queue.canPauseAll ? (
                <Button size="sm" onClick={queue.pauseAll}>
                  Pause all
                </Button>
              ) : null}
              {queue.canResumeAll ? (
                <Button size="sm" onClick={queue.resumeAll}>
                  Resume all
                </Button>
              ) : null}
              {queue.canRetry ? (
                <Button size="sm" onClick={queue.retryFailed}>
                  Retry failed
                </Button>
              ) : null}
              {totals.done > 0 ? (
                <Button size="sm" onClick={queue.clearFinished}>
                  Clear finished
                </Button>
              ) : null}
            </div>
            <ul className="space-y-2" aria-label="Upload queue">
              {items.map((item) => (
                <UploadRow key={item.key} item={item} onPause={queue.pause} onResume={queue.resume} onCancel={queue.cancel} />
              ))}
            </ul>
          </>
        ) : null}
      </div>
    </section>
  );
}

/** Memoised: one file's progress re-renders its own row, not every row of a long queue. */
const UploadRow = memo(function UploadRow({
  item,
  onPause,
  onResume,
  onCancel,
}: {
  item: QueueItem;
  onPause: (key: string) => void;
  onResume: (key: string) => void;
  onCancel: (key: string) => void;
}) {
  const name = displayName(item);
  // Each button's accessible name is its visible verb and its description is the file (with its
  // folder path), read as "Pause, button, Photos/2024/a.jpg". Putting the file name into the
  // name itself would make "Pause" match every button of a file called "pause-notes.txt".
  const nameId = `upload-name-${item.key.replace(/[^a-zA-Z0-9_-]/g, "_")}`;
  const percent = item.size === 0 ? (item.status === "done" ? 100 : 0) : Math.floor((item.sent / item.size) * 100);
  const left = item.speed > 0 ? (item.size - item.sent) / item.speed : 0;
  const statusText =
    item.status === "done"
      ? "Uploaded"
      : item.status === "error"
        ? (item.message ?? "Failed")
        : item.status === "paused"
          ? `Paused at ${percent}%`
          : item.status === "queued"
            ? `Queued${item.sent > 0 ? ` at ${percent}%` : ""}`
            : `${percent}% · ${formatBytes(item.sent)} of ${formatBytes(item.size)}${item.speed > 0 ? ` · ${formatBytes(item.speed)}/s · ${formatDuration(left)} left` : ""}${item.resumed ? " · resumed" : ""}`;
  return (
    <li className="rounded-control border border-border p-2 text-sm" data-testid="upload-item" data-status={item.status}>
      <div className="flex items-start justify-between gap-2">
        <span className="min-w-0 font-medium break-all" id={nameId}>
          {item.relativePath ? <span className="text-text-muted">{item.relativePath}</span> : null}
          {item.name}
        </span>
        <div className="flex shrink-0 gap-1">
          {item.status === "uploading" ? (
            <Button size="sm" aria-describedby={nameId} onClick={() => onPause(item.key)}>
              Pause
            </Button>
          ) : null}
          {item.status === "paused" ? (
            <Button size="sm" aria-describedby={nameId} onClick={() => onResume(item.key)}>
              Resume
            </Button>
          ) : null}
          {item.status === "error" && item.retryable ? (
            <Button size="sm" aria-describedby={nameId} onClick={() => onResume(item.key)}>
              Retry
            </Button>
          ) : null}
          {item.status !== "done" ? (
            <Button size="sm" aria-describedby={nameId} onClick={() => onCancel(item.key)}>
              {/* Nothing is left to cancel of a refusal that a retry cannot change. */}
              {item.status === "error" && !item.retryable ? "Remove" : "Cancel"}
            </Button>
          ) : null}
        </div>
      </div>
      <div
        className="mt-1 h-1.5 w-full overflow-hidden rounded-full bg-surface-hover"
        role="progressbar"
        aria-label={`Upload of ${name}`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
      >
        <div className={`h-full ${item.status === "error" ? "bg-danger" : "bg-accent"}`} style={{ width: `${percent}%` }} />
      </div>
      <p className={`mt-1 text-xs ${item.status === "error" ? "text-danger" : "text-text-muted"}`}>{statusText}</p>
      {item.status === "done" && item.landed ? <LandedElsewhere landed={item.landed} /> : null}
    </li>
  );
});

/** A finished upload whose folder was trashed or deleted meanwhile: where the file is now. */
function LandedElsewhere({ landed }: { landed: "trash" | "root" }) {
  return (
    <p className="mt-1 text-xs text-text" data-testid="upload-landed">
      {landed === "trash" ? (
        <>
          Its folder was moved to the trash meanwhile, so the file is in the trash with it (its owner’s, if the folder was shared with you).{" "}
          <Link to="/trash" className="link">
            Open the trash
          </Link>
        </>
      ) : (
        <>
          Its folder was deleted meanwhile, so the file was saved in My files.{" "}
          <Link to="/files" className="link">
            Open My files
          </Link>
        </>
      )}
    </p>
  );
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "";
  const s = Math.ceil(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}
