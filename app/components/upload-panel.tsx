import { useRevalidator } from "@remix-run/react";
import { useCallback, useEffect, useRef, useState, type ReactNode } from "react";
import type { Upload as TusUpload } from "tus-js-client";
import { formatBytes } from "~/lib/format";
import { useCsrfToken } from "./csrf-input";
import { MOVE_MIME } from "./drag-move";

type Status = "queued" | "uploading" | "paused" | "done" | "error";

interface QueueItem {
  key: string;
  name: string;
  /** Directory of the file inside a dropped or chosen folder ("Photos/2024/"), "" otherwise. */
  relativePath: string;
  size: number;
  sent: number;
  status: Status;
  message?: string;
  /** Smoothed bytes per second while uploading. */
  speed: number;
  resumed: boolean;
  /** False when retrying cannot help (the file is over the size limit). */
  retryable: boolean;
}

interface PickedFile {
  file: File;
  relativePath: string;
}

interface StoredUpload {
  size: number;
  metadata: Record<string, string>;
  creationTime: string;
}

/**
 * tus chunk size. The benchmark (bench/README.md) found one PATCH per upload (chunkSize
 * Infinity) fastest on S3: each PATCH waits for all of its S3 parts, so every chunk boundary
 * drains the part pipeline. But a single request of many GiB does not survive many reverse
 * proxies (request timeouts, body buffering), and a failed request then has to be retried from
 * its start. 256 MiB keeps almost all of Infinity's speed (files up to 256 MiB are still one
 * PATCH; bigger ones pause the pipeline once per 256 MiB) while bounding each request. It must be
 * a multiple of the S3 part size (S3_PART_SIZE, 32 MiB by default; any power of two up to
 * 256 MiB works) so chunks end on part boundaries and the S3 store never has to park and
 * re-read an incomplete part between PATCHes.
 */
const CHUNK_SIZE = 256 * 1024 * 1024;
const PARALLEL_CHOICES = [1, 2, 3, 4, 6] as const;
const DEFAULT_PARALLEL = 3;
/** Weight of the newest sample in the smoothed speed (exponential moving average). */
const SPEED_SMOOTHING = 0.3;
const SPEED_SAMPLE_MS = 500;

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
  const [items, setItems] = useState<QueueItem[]>([]);
  const [unfinished, setUnfinished] = useState<StoredUpload[]>([]);
  const [dragging, setDragging] = useState(false);
  const [onConflict, setOnConflict] = useState<"keep-both" | "replace" | "cancel">("keep-both");
  const [parallel, setParallel] = useState<number>(DEFAULT_PARALLEL);
  const [folderInputSupported, setFolderInputSupported] = useState(true);
  const uploads = useRef(new Map<string, TusUpload>());
  const picked = useRef(new Map<string, PickedFile & { folderId: string; onConflict: string }>());
  const launched = useRef(new Set<string>());
  /** Uploads whose requests are running (started and not paused, cancelled or finished). */
  const running = useRef(new Set<string>());
  const samples = useRef(new Map<string, { at: number; sent: number }>());
  const revalidator = useRevalidator();
  const csrfToken = useCsrfToken();
  const revalidate = useRef(revalidator.revalidate);
  revalidate.current = revalidator.revalidate;
  const current = useRef(items);
  current.current = items;

  useEffect(() => {
    setEnhanced(true);
    setUnfinished(readUnfinished(folderId));
    setFolderInputSupported("webkitdirectory" in document.createElement("input"));
  }, [folderId]);

  const update = useCallback((key: string, patch: Partial<QueueItem> | ((item: QueueItem) => Partial<QueueItem>)) => {
    setItems((current) => current.map((item) => (item.key === key ? { ...item, ...(typeof patch === "function" ? patch(item) : patch) } : item)));
  }, []);

  /** Queues files; the scheduler below starts them when a slot is free. */
  const addFiles = useCallback(
    (files: PickedFile[]) => {
      const added: QueueItem[] = [];
      for (const { file, relativePath } of files) {
        const key = `${relativePath}${file.name}-${file.size}-${file.lastModified}-${Math.random().toString(36).slice(2)}`;
        const base = { key, name: file.name, relativePath, size: file.size, sent: 0, speed: 0, resumed: false, retryable: true };
        if (file.size > maxUploadSize) {
          added.push({ ...base, status: "error", retryable: false, message: `Larger than the ${formatBytes(maxUploadSize)} limit.` });
          continue;
        }
        picked.current.set(key, { file, relativePath, folderId, onConflict });
        added.push({ ...base, status: "queued" });
      }
      setItems((current) => [...current, ...added]);
    },
    [folderId, maxUploadSize, onConflict],
  );

  const [folderNote, setFolderNote] = useState<string | null>(null);
  /** Empty folders of a dropped tree: created directly, since no file's path will create them. */
  const addEmptyFolders = useCallback(
    async (paths: string[]) => {
      const failures = await createFolderPaths(folderId, paths, csrfToken);
      setFolderNote(failures.length > 0 ? `Some empty folders could not be created: ${failures.join("; ")}` : null);
      revalidate.current();
    },
    [folderId, csrfToken],
  );

  /** Starts (or continues) the upload of one item; its status is already "uploading". */
  const launch = useCallback(
    async (key: string) => {
      samples.current.set(key, { at: Date.now(), sent: 0 });
      const existing = uploads.current.get(key);
      if (existing) {
        if (running.current.has(key)) return;
        running.current.add(key);
        existing.start();
        return;
      }
      const entry = picked.current.get(key);
      if (!entry) return;
      const { file, relativePath } = entry;
      try {
        const { Upload } = await import("tus-js-client");
        const metadata: Record<string, string> = { filename: file.name, filetype: file.type, folderId: entry.folderId, onConflict: entry.onConflict };
        if (relativePath) metadata.relativePath = relativePath;
        const upload = new Upload(file, {
          endpoint: "/api/uploads",
          chunkSize: CHUNK_SIZE,
          retryDelays: [0, 1000, 3000, 5000, 10000, 20000, 30000],
          removeFingerprintOnSuccess: true,
          storeFingerprintForResuming: true,
          metadata,
          // Files of a dropped folder may share name, size and date; their path tells them apart.
          ...(relativePath
            ? { fingerprint: (f: File, options: { endpoint?: string | null }) => Promise.resolve(["tus-br", f.name, f.type, f.size, f.lastModified, options.endpoint, entry.folderId, relativePath].join("-")) }
            : {}),
          onProgress: (sent) => {
            const now = Date.now();
            const last = samples.current.get(key) ?? { at: now, sent };
            const elapsed = now - last.at;
            if (elapsed >= SPEED_SAMPLE_MS) {
              const instant = ((sent - last.sent) / elapsed) * 1000;
              samples.current.set(key, { at: now, sent });
              update(key, (item) => ({
                sent,
                speed: item.speed > 0 ? SPEED_SMOOTHING * Math.max(0, instant) + (1 - SPEED_SMOOTHING) * item.speed : Math.max(0, instant),
              }));
            } else {
              update(key, (item) => (item.status === "uploading" ? { sent } : {}));
            }
          },
          onSuccess: () => {
            running.current.delete(key);
            update(key, { sent: file.size, status: "done", speed: 0 });
            uploads.current.delete(key);
            picked.current.delete(key);
            setUnfinished(readUnfinished(folderId));
            revalidate.current();
          },
          onError: (error) => {
            running.current.delete(key);
            update(key, { status: "error", speed: 0, message: describeTusError(error) });
          },
        });
        uploads.current.set(key, upload);
        const previous = await upload.findPreviousUploads();
        if (previous.length > 0) {
          upload.resumeFromPreviousUpload(previous[0]);
          update(key, { resumed: true });
        }
        // Paused or cancelled while the upload was being prepared: leave it for Resume.
        const now = current.current.find((item) => item.key === key)?.status;
        if (now === undefined || now === "paused") return;
        running.current.add(key);
        upload.start();
      } catch (error) {
        update(key, { status: "error", speed: 0, message: error instanceof Error ? error.message : "The upload could not start." });
      }
    },
    [folderId, update],
  );

  // The scheduler: whenever the queue changes, fill the free slots with the oldest queued items.
  useEffect(() => {
    const active = items.filter((item) => item.status === "uploading").length;
    const free = parallel - active;
    if (free <= 0) return;
    const next = items.filter((item) => item.status === "queued" && !launched.current.has(item.key)).slice(0, free);
    if (next.length === 0) return;
    const keys = new Set(next.map((item) => item.key));
    for (const key of keys) launched.current.add(key);
    setItems((current) => current.map((item) => (keys.has(item.key) ? { ...item, status: "uploading", message: undefined, speed: 0 } : item)));
    for (const key of keys) {
      void launch(key).finally(() => launched.current.delete(key));
    }
  }, [items, parallel, launch]);

  const pause = useCallback(
    (key: string) => {
      running.current.delete(key);
      void uploads.current.get(key)?.abort();
      update(key, { status: "paused", speed: 0 });
    },
    [update],
  );
  /** Resuming and retrying queue the item again; it continues from where the server got to. */
  const resume = useCallback((key: string) => update(key, { status: "queued", message: undefined }), [update]);
  const cancel = useCallback(
    (key: string) => {
      running.current.delete(key);
      void uploads.current.get(key)?.abort(true);
      uploads.current.delete(key);
      picked.current.delete(key);
      setItems((current) => current.filter((item) => item.key !== key));
      // abort(true) removes the stored fingerprint asynchronously.
      setTimeout(() => setUnfinished(readUnfinished(folderId)), 100);
    },
    [folderId],
  );
  const pauseAll = () => {
    for (const key of running.current) void uploads.current.get(key)?.abort();
    running.current.clear();
    setItems((current) => current.map((item) => (item.status === "uploading" || item.status === "queued" ? { ...item, status: "paused", speed: 0 } : item)));
  };
  const resumeAll = () => {
    setItems((current) => current.map((item) => (item.status === "paused" ? { ...item, status: "queued", message: undefined } : item)));
  };
  const retryFailed = () => {
    setItems((current) =>
      current.map((item) => (item.status === "error" && item.retryable ? { ...item, status: "queued", message: undefined } : item)),
    );
  };
  const clearFinished = () => setItems((current) => current.filter((item) => item.status !== "done"));

  if (!enhanced) return <section className="card p-4">{children}</section>;

  const totals = summarize(items);
  const canPauseAll = items.some((item) => item.status === "uploading" || item.status === "queued");
  const canResumeAll = items.some((item) => item.status === "paused");
  const canRetry = items.some((item) => item.status === "error" && item.retryable);

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
          if (entries) void filesFromEntries(entries).then(({ files, emptyDirs }) => {
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
                  const files = Array.from(event.currentTarget.files ?? [], (file) => ({ file, relativePath: directoryOf(file.webkitRelativePath) }));
                  event.currentTarget.value = "";
                  addFiles(files);
                }}
              />
              Choose a folder
            </label>
          ) : null}
        </div>
        <p className="mt-2 text-xs text-slate-600">
          Up to {formatBytes(maxUploadSize)} per file. Folders keep their structure (a dropped folder’s empty folders too). Uploads resume after a lost connection
          or a page reload.
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
            onChange={(event) => setOnConflict(event.currentTarget.value as typeof onConflict)}
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

function summarize(items: QueueItem[]) {
  const totals = { files: items.length, done: 0, uploading: 0, queued: 0, paused: 0, failed: 0, bytes: 0, sent: 0, speed: 0, remaining: 0 };
  for (const item of items) {
    totals.bytes += item.size;
    totals.sent += Math.min(item.sent, item.size);
    if (item.status === "done") totals.done++;
    else if (item.status === "uploading") {
      totals.uploading++;
      totals.speed += item.speed;
    } else if (item.status === "queued") totals.queued++;
    else if (item.status === "paused") totals.paused++;
    else totals.failed++;
    if (item.status === "uploading" || item.status === "queued") totals.remaining += item.size - Math.min(item.sent, item.size);
  }
  return totals;
}

function UploadRow({
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
        ? item.message ?? "Failed"
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
              Cancel
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
    </li>
  );
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "";
  const s = Math.ceil(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** "Photos/2024/a.jpg" → "Photos/2024/"; "a.jpg" → "". */
function directoryOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "" : path.slice(0, slash + 1);
}

/** The dropped entries when the browser supports them (folders included); null otherwise. */
function entriesOf(dataTransfer: DataTransfer): FileSystemEntry[] | null {
  const items = Array.from(dataTransfer.items ?? []);
  if (items.length === 0 || typeof items[0].webkitGetAsEntry !== "function") return null;
  const entries: FileSystemEntry[] = [];
  for (const item of items) {
    if (item.kind !== "file") continue;
    const entry = item.webkitGetAsEntry();
    if (entry) entries.push(entry);
  }
  return entries.length > 0 ? entries : null;
}

/**
 * Walks dropped entries depth-first; each file gets the directory it was found in. Directories
 * with nothing in them are listed too ("Tree/empty/"): no file will recreate them.
 */
async function filesFromEntries(entries: FileSystemEntry[]): Promise<{ files: PickedFile[]; emptyDirs: string[] }> {
  const found: PickedFile[] = [];
  const emptyDirs: string[] = [];
  const walk = async (entry: FileSystemEntry, dir: string): Promise<void> => {
    if (entry.isFile) {
      try {
        const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
        found.push({ file, relativePath: dir });
      } catch {
        // An unreadable file (permissions, vanished meanwhile) is skipped; the rest still uploads.
      }
    } else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      const path = `${dir}${entry.name}/`;
      // readEntries answers in batches (100 in Chromium) until it returns an empty one.
      let children = 0;
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
        if (batch.length === 0) break;
        children += batch.length;
        for (const child of batch) await walk(child, path);
      }
      if (children === 0) emptyDirs.push(path);
    }
  };
  for (const entry of entries) {
    try {
      await walk(entry, "");
    } catch {
      // An unreadable entry (permissions, a vanished file) is skipped; the rest still uploads.
    }
  }
  return { files: found, emptyDirs };
}

/** Creates the folders of each path below the folder (they already exist: fine). Returns the failures' messages. */
async function createFolderPaths(folderId: string, paths: string[], csrfToken: string): Promise<string[]> {
  const failures: string[] = [];
  for (const path of paths) {
    const body = new FormData();
    body.set("folderId", folderId);
    body.set("path", path);
    try {
      const response = await fetch("/folders/path", { method: "POST", body, headers: { Accept: "application/json", "X-CSRF-Token": csrfToken } });
      const result = (await response.json().catch(() => null)) as { ok: boolean; message?: string } | null;
      if (!response.ok || !result?.ok) failures.push(`${path}: ${result?.message ?? "could not be created"}`);
    } catch {
      failures.push(`${path}: the connection was lost`);
    }
  }
  return failures;
}

/** Uploads tus-js-client remembers (in localStorage) that were started in this folder. */
function readUnfinished(folderId: string): StoredUpload[] {
  const found: StoredUpload[] = [];
  try {
    for (let i = 0; i < localStorage.length; i++) {
      const key = localStorage.key(i);
      if (!key?.startsWith("tus::")) continue;
      const value = JSON.parse(localStorage.getItem(key) ?? "null") as StoredUpload | null;
      if (value?.metadata?.folderId === folderId) found.push(value);
    }
  } catch {
    // Storage may be unavailable (private mode); resuming then simply starts over.
  }
  return found;
}

function describeTusError(error: Error): string {
  const response = (error as { originalResponse?: { getStatus(): number; getBody(): string } | null }).originalResponse;
  const body = response?.getBody()?.trim();
  if (response && body && body.length < 300) return body;
  if (response?.getStatus() === 401) return "Your session has ended. Log in again, then retry.";
  return "The connection was lost. Retry to continue from where it stopped.";
}
