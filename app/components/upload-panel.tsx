import { Link } from "@remix-run/react";
import { memo, useEffect, useState, type ReactNode } from "react";
import { formatBytes } from "~/lib/format";
import { MOVE_MIME } from "./drag-move";
import { directoryOf, entriesOf, filesFromEntries } from "./upload-picking";
import { PARALLEL_CHOICES, useUploadQueue, type ConflictPolicy, type QueueItem } from "./upload-queue";

const displayName = (item: Pick<QueueItem, "name" | "relativePath">) => `${item.relativePath}${item.name}`;

/**
 * Resumable uploads with tus when JavaScript runs; `children` (a plain multipart form) is what
 * people without JavaScript get, and what everyone sees until the page hydrates.
 *
 * Files and whole folders can be dropped or chosen; a folder's structure is recreated on the
 * server (each file carries its directory as `relativePath`); empty folders inside a dropped
 * folder are created through POST /folders/path. At most `parallel` uploads run at once, the rest
 * wait as "queued".
 */
export function UploadPanel({ folderId, maxUploadSize, children }: { folderId: string; maxUploadSize: number; children: ReactNode }) {
  const [enhanced, setEnhanced] = useState(false);
  const [dragging, setDragging] = useState(false);
  const [folderInputSupported, setFolderInputSupported] = useState(true);
  const {
    items,
    totals,
    canPauseAll,
    canResumeAll,
    canRetry,
    unfinished,
    folderNote,
    onConflict,
    setOnConflict,
    parallel,
    setParallel,
    addFiles,
    addEmptyFolders,
    pause,
    resume,
    cancel,
    pauseAll,
    resumeAll,
    retryFailed,
    clearFinished,
  } = useUploadQueue({ folderId, maxUploadSize });

  useEffect(() => {
    setEnhanced(true);
    setFolderInputSupported("webkitdirectory" in document.createElement("input"));
  }, []);

  if (!enhanced) return <section className="card p-4">{children}</section>;

  return (
    <section aria-labelledby="upload-heading" className="card p-4">
      <h2 id="upload-heading" className="text-base font-semibold">
        Upload files
      </h2>
      {/* biome-ignore lint/a11y/noStaticElementInteractions: a drop target for the mouse; keyboards use the file buttons inside. */}
      <div
        data-testid="upload-drop-zone"
        className={`mt-3 rounded-lg border-2 border-dashed p-6 text-center ${dragging ? "border-blue-600 bg-blue-50" : "border-slate-300"}`}
        onDragOver={(event) => {
          // Items dragged within the listing (to move them) are not uploads.
          if (Array.from(event.dataTransfer.types).includes(MOVE_MIME)) return;
          event.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={(event) => {
          if (Array.from(event.dataTransfer.types).includes(MOVE_MIME)) return;
          event.preventDefault();
          setDragging(false);
          // Entries must be taken while the drop event runs; the list is emptied afterwards.
          const entries = entriesOf(event.dataTransfer);
          if (entries)
            void filesFromEntries(entries).then(({ files, emptyDirs }) => {
              addFiles(files);
              if (emptyDirs.length > 0) void addEmptyFolders(emptyDirs);
            });
          else addFiles(Array.from(event.dataTransfer.files, (file) => ({ file, relativePath: "" })));
        }}
      >
        <p className="text-sm text-slate-700">Drop files or folders here, or</p>
        {/* Each visible button is a label wrapping its input. The inputs are visually hidden, not
            display:none, so they stay in the tab order; focus-within shows where the focus is. */}
        <div className="mt-2 flex flex-wrap justify-center gap-2">
          <label className="btn-primary cursor-pointer focus-within:ring-2 focus-within:ring-blue-600 focus-within:ring-offset-2">
            <input
              id="tus-file-input"
              data-testid="tus-file-input"
              type="file"
              multiple
              className="sr-only"
              onChange={(event) => {
                const files = Array.from(event.currentTarget.files ?? [], (file) => ({ file, relativePath: "" }));
                event.currentTarget.value = "";
                addFiles(files);
              }}
            />
            Choose files
          </label>
          {folderInputSupported ? (
            <label className="btn-secondary cursor-pointer focus-within:ring-2 focus-within:ring-blue-600 focus-within:ring-offset-2">
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
                  addFiles(files);
                }}
              />
              Choose a folder
            </label>
          ) : null}
        </div>
        <p className="mt-2 text-xs text-slate-600">
          Up to {formatBytes(maxUploadSize)} per file. Folders keep their structure (a dropped folder’s empty folders too). Uploads resume
          after a lost connection or a page reload.
        </p>
      </div>

      {folderNote ? (
        <p role="alert" className="field-error mt-2">
          {folderNote}
        </p>
      ) : null}

      <div className="mt-3 flex flex-wrap items-center gap-x-4 gap-y-2 text-sm">
        <span className="flex max-w-full flex-wrap items-center gap-2">
          <label htmlFor="tus-on-conflict" className="whitespace-nowrap text-slate-800">
            If a name is taken
          </label>
          <select
            id="tus-on-conflict"
            value={onConflict}
            onChange={(event) => setOnConflict(event.currentTarget.value as ConflictPolicy)}
            className="max-w-full min-w-0 rounded-md border border-slate-300 bg-white px-2 py-1"
          >
            <option value="keep-both">Keep both</option>
            <option value="replace">Replace (keep the old one as a version)</option>
            <option value="cancel">Don’t upload it</option>
          </select>
        </span>
        <span className="flex items-center gap-2">
          <label htmlFor="tus-parallel" className="text-slate-800">
            At once
          </label>
          <select
            id="tus-parallel"
            value={parallel}
            onChange={(event) => setParallel(Number(event.currentTarget.value))}
            className="rounded-md border border-slate-300 bg-white px-2 py-1"
          >
            {PARALLEL_CHOICES.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </span>
      </div>

      {unfinished.length > 0 ? (
        <div className="mt-3 rounded-md border border-amber-200 bg-amber-50 p-3 text-sm text-amber-900" role="status">
          <p className="font-medium">Unfinished uploads in this folder</p>
          <ul className="mt-1 list-inside list-disc">
            {unfinished.map((upload) => (
              <li key={upload.creationTime + (upload.metadata.relativePath ?? "") + upload.metadata.filename}>
                {upload.metadata.relativePath ?? ""}
                {upload.metadata.filename} ({formatBytes(upload.size)})
              </li>
            ))}
          </ul>
          <p className="mt-1">Choose the same file (or folder) again to continue where it stopped.</p>
        </div>
      ) : null}

      {items.length > 0 ? (
        <div className="mt-4">
          <div className="flex flex-wrap items-center justify-between gap-2">
            <p className="text-sm text-slate-700" data-testid="upload-totals">
              {totals.done} of {totals.files} files, {formatBytes(totals.sent)} of {formatBytes(totals.bytes)}
              {totals.speed > 0 ? ` · ${formatBytes(totals.speed)}/s` : ""}
              {totals.speed > 0 && totals.remaining > 0 ? ` · ${formatDuration(totals.remaining / totals.speed)} left` : ""}
            </p>
            <div className="flex flex-wrap gap-2">
              {canPauseAll ? (
                <button type="button" className="btn-secondary" onClick={pauseAll}>
                  Pause all
                </button>
              ) : null}
              {canResumeAll ? (
                <button type="button" className="btn-secondary" onClick={resumeAll}>
                  Resume all
                </button>
              ) : null}
              {canRetry ? (
                <button type="button" className="btn-secondary" onClick={retryFailed}>
                  Retry failed
                </button>
              ) : null}
              {totals.done > 0 ? (
                <button type="button" className="btn-secondary" onClick={clearFinished}>
                  Clear finished
                </button>
              ) : null}
            </div>
          </div>
          {/* Announces file counts only (not every byte of progress), so screen readers are not flooded. */}
          <p className="sr-only" aria-live="polite" role="status" data-testid="upload-summary">
            {`${totals.done} of ${totals.files} files uploaded`}
            {totals.uploading > 0 ? `, ${totals.uploading} uploading` : ""}
            {totals.queued > 0 ? `, ${totals.queued} queued` : ""}
            {totals.paused > 0 ? `, ${totals.paused} paused` : ""}
            {totals.failed > 0 ? `, ${totals.failed} failed` : ""}.
          </p>
          <ul className="mt-3 space-y-3" aria-label="Upload queue">
            {items.map((item) => (
              <UploadRow key={item.key} item={item} onPause={pause} onResume={resume} onCancel={cancel} />
            ))}
          </ul>
        </div>
      ) : null}
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
    <li className="rounded-md border border-slate-200 p-3" data-testid="upload-item" data-status={item.status}>
      <div className="flex flex-wrap items-center justify-between gap-2">
        <span className="font-medium break-all" id={nameId}>
          {item.relativePath ? <span className="text-slate-500">{item.relativePath}</span> : null}
          {item.name}
        </span>
        <div className="flex gap-2">
          {item.status === "uploading" ? (
            <button type="button" className="btn-secondary" aria-describedby={nameId} onClick={() => onPause(item.key)}>
              Pause
            </button>
          ) : null}
          {item.status === "paused" ? (
            <button type="button" className="btn-secondary" aria-describedby={nameId} onClick={() => onResume(item.key)}>
              Resume
            </button>
          ) : null}
          {item.status === "error" && item.retryable ? (
            <button type="button" className="btn-secondary" aria-describedby={nameId} onClick={() => onResume(item.key)}>
              Retry
            </button>
          ) : null}
          {item.status !== "done" ? (
            <button type="button" className="btn-secondary" aria-describedby={nameId} onClick={() => onCancel(item.key)}>
              {/* Nothing is left to cancel of a refusal that a retry cannot change. */}
              {item.status === "error" && !item.retryable ? "Remove" : "Cancel"}
            </button>
          ) : null}
        </div>
      </div>
      <div
        className="mt-2 h-2 w-full overflow-hidden rounded bg-slate-200"
        role="progressbar"
        aria-label={`Upload of ${name}`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
      >
        <div className={`h-full ${item.status === "error" ? "bg-red-600" : "bg-blue-700"}`} style={{ width: `${percent}%` }} />
      </div>
      <p className={`mt-1 text-xs ${item.status === "error" ? "text-red-700" : "text-slate-600"}`}>{statusText}</p>
      {item.status === "done" && item.landed ? <LandedElsewhere landed={item.landed} /> : null}
    </li>
  );
});

/** A finished upload whose folder was trashed or deleted meanwhile: where the file is now. */
function LandedElsewhere({ landed }: { landed: "trash" | "root" }) {
  return (
    <p className="mt-1 text-xs text-amber-900" data-testid="upload-landed">
      {landed === "trash" ? (
        <>
          Its folder was moved to the trash meanwhile, so the file is in the trash with it (its owner’s, if the folder was shared with you).{" "}
          <Link to="/trash" className="text-blue-800 underline">
            Open the trash
          </Link>
        </>
      ) : (
        <>
          Its folder was deleted meanwhile, so the file was saved in My files.{" "}
          <Link to="/files" className="text-blue-800 underline">
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
