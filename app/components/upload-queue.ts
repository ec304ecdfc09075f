import { useCallback, useEffect, useRef, useState } from "react";
import type { Upload as TusUpload } from "tus-js-client";
import { formatBytes } from "~/lib/format";
import { useCsrfToken } from "./csrf-input";
import { useThrottledRevalidate } from "./throttled-revalidate";
import { resumingHttpStack } from "./tus-resume-stack";

export type Status = "queued" | "uploading" | "paused" | "done" | "error";

export interface QueueItem {
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
  /** False when retrying cannot help (over the size limit, a refused name, no quota left). */
  retryable: boolean;
  /**
   * Where a finished upload went when it was not its folder: "trash" (the folder was moved to the
   * trash meanwhile; the file is in there with it) or "root" (the folder was deleted: My files).
   */
  landed?: "trash" | "root";
}

export interface PickedFile {
  file: File;
  relativePath: string;
}

export interface StoredUpload {
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
export const PARALLEL_CHOICES = [1, 2, 3, 4, 6] as const;
const DEFAULT_PARALLEL = 3;
/**
 * Files up to this size are sent in the request that creates their upload (tus
 * creation-with-upload): one request instead of two. Larger ones create first and then send, so
 * a connection lost early on still leaves an upload to resume.
 */
const SEND_WITH_CREATION_MAX = 8 * 1024 * 1024;
/**
 * Small files (up to this size) are mostly round trips, not bytes: each takes half a slot, so
 * twice as many of them run at once as the chosen number, up to the browser's six connections
 * per server.
 */
const SMALL_FILE_MAX = 1024 * 1024;
const MAX_CONNECTIONS = 6;
/** Weight of the newest sample in the smoothed speed (exponential moving average). */
const SPEED_SMOOTHING = 0.3;
const SPEED_SAMPLE_MS = 500;

/** How long changes to the queue's items may wait to be applied together. */
const UPDATE_BATCH_MS = 40;

export type ConflictPolicy = "keep-both" | "replace" | "cancel";
type ItemPatch = Partial<QueueItem> | ((item: QueueItem) => Partial<QueueItem>);

/**
 * The upload queue behind UploadPanel: resumable tus uploads of picked files, at most `parallel`
 * at once (the rest wait as "queued"), with pause, resume, retry and cancel per item and for all,
 * progress and smoothed speed, and the unfinished uploads tus-js-client remembers for this folder.
 */
export function useUploadQueue({ folderId, maxUploadSize }: { folderId: string; maxUploadSize: number }) {
  const [items, setItemsNow] = useState<QueueItem[]>([]);
  const [unfinished, setUnfinished] = useState<StoredUpload[]>([]);
  const [onConflict, setOnConflict] = useState<ConflictPolicy>("keep-both");
  const [parallel, setParallel] = useState<number>(DEFAULT_PARALLEL);
  const [folderNote, setFolderNote] = useState<string | null>(null);
  const uploads = useRef(new Map<string, TusUpload>());
  const picked = useRef(new Map<string, PickedFile & { folderId: string; onConflict: string }>());
  const launched = useRef(new Set<string>());
  /** Uploads whose requests are running (started and not paused, cancelled or finished). */
  const running = useRef(new Set<string>());
  const samples = useRef(new Map<string, { at: number; sent: number }>());
  const csrfToken = useCsrfToken();
  // One reload of the folder for many finished files, not one each.
  const requestRevalidate = useThrottledRevalidate();
  const revalidate = useRef(requestRevalidate);
  revalidate.current = requestRevalidate;
  const current = useRef(items);
  current.current = items;

  useEffect(() => {
    setUnfinished(readUnfinished(folderId));
  }, [folderId]);

  // Each upload's progress and end arrive as events of their own; applied one render each, a folder
  // of small files re-rendered (and laid out) the page several times per file. They are gathered
  // and applied together at most every UPDATE_BATCH_MS, before any other change to the queue.
  const patches = useRef(new Map<string, ItemPatch[]>());
  const patchTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const unfinishedStale = useRef(false);
  const flushPatches = useCallback(() => {
    if (patchTimer.current !== null) clearTimeout(patchTimer.current);
    patchTimer.current = null;
    if (unfinishedStale.current) {
      unfinishedStale.current = false;
      setUnfinished(readUnfinished(folderId));
    }
    if (patches.current.size === 0) return;
    const pending = patches.current;
    patches.current = new Map();
    setItemsNow((current) =>
      current.map((item) => {
        const list = pending.get(item.key);
        if (!list) return item;
        let next = item;
        for (const patch of list) next = { ...next, ...(typeof patch === "function" ? patch(next) : patch) };
        return next;
      }),
    );
  }, [folderId]);
  useEffect(() => () => flushPatches(), [flushPatches]);
  const setItems = useCallback(
    (change: (current: QueueItem[]) => QueueItem[]) => {
      flushPatches();
      setItemsNow(change);
    },
    [flushPatches],
  );
  const update = useCallback(
    (key: string, patch: ItemPatch) => {
      const list = patches.current.get(key);
      if (list) list.push(patch);
      else patches.current.set(key, [patch]);
      patchTimer.current ??= setTimeout(flushPatches, UPDATE_BATCH_MS);
    },
    [flushPatches],
  );

  /**
   * Queues files; the scheduler below starts them when a slot is free. They go into the page's
   * folder, or into `into` (a subfolder row they were dropped on).
   */
  const addFiles = useCallback(
    (files: PickedFile[], into: string = folderId) => {
      const added: QueueItem[] = [];
      for (const { file, relativePath } of files) {
        const key = `${relativePath}${file.name}-${file.size}-${file.lastModified}-${Math.random().toString(36).slice(2)}`;
        const base = { key, name: file.name, relativePath, size: file.size, sent: 0, speed: 0, resumed: false, retryable: true };
        if (file.size > maxUploadSize) {
          added.push({ ...base, status: "error", retryable: false, message: `Larger than the ${formatBytes(maxUploadSize)} limit.` });
          continue;
        }
        picked.current.set(key, { file, relativePath, folderId: into, onConflict });
        added.push({ ...base, status: "queued" });
      }
      setItems((current) => [...current, ...added]);
    },
    [folderId, maxUploadSize, onConflict, setItems],
  );

  /** Empty folders of a dropped tree: created directly, since no file's path will create them. */
  const addEmptyFolders = useCallback(
    async (paths: string[], into: string = folderId) => {
      const failures = await createFolderPaths(into, paths, csrfToken);
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
        const { Upload, DefaultHttpStack } = await import("tus-js-client");
        const metadata: Record<string, string> = {
          filename: file.name,
          filetype: file.type,
          folderId: entry.folderId,
          onConflict: entry.onConflict,
        };
        if (relativePath) metadata.relativePath = relativePath;
        const upload = new Upload(file, {
          endpoint: "/api/uploads",
          // A store outage (503) pauses the upload instead of starting it over.
          httpStack: resumingHttpStack(new DefaultHttpStack({})),
          chunkSize: CHUNK_SIZE,
          uploadDataDuringCreation: file.size <= SEND_WITH_CREATION_MAX,
          retryDelays: [0, 1000, 3000, 5000, 10000, 20000, 30000],
          removeFingerprintOnSuccess: true,
          storeFingerprintForResuming: true,
          metadata,
          // Files of a dropped folder may share name, size and date; their path tells them apart.
          ...(relativePath
            ? {
                fingerprint: (f: File, options: { endpoint?: string | null }) =>
                  Promise.resolve(
                    ["tus-br", f.name, f.type, f.size, f.lastModified, options.endpoint, entry.folderId, relativePath].join("-"),
                  ),
              }
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
          onSuccess: ({ lastResponse }) => {
            running.current.delete(key);
            const place = lastResponse?.getHeader("Coffer-File-Place");
            const landed = place === "trash" || place === "root" ? place : undefined;
            update(key, { sent: file.size, status: "done", speed: 0, landed });
            uploads.current.delete(key);
            picked.current.delete(key);
            unfinishedStale.current = true;
            revalidate.current();
          },
          onError: (error) => {
            running.current.delete(key);
            update(key, { status: "error", speed: 0, message: describeTusError(error), retryable: !isFinalRefusal(error) });
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
    [update],
  );

  // The scheduler: whenever the queue changes, fill the free slots with the oldest queued items.
  useEffect(() => {
    let used = 0;
    let connections = 0;
    for (const item of items) {
      if (item.status !== "uploading") continue;
      used += slotOf(item);
      connections++;
    }
    const next: QueueItem[] = [];
    for (const item of items) {
      if (item.status !== "queued" || launched.current.has(item.key)) continue;
      if (used + slotOf(item) > parallel || connections >= MAX_CONNECTIONS) break;
      used += slotOf(item);
      connections++;
      next.push(item);
    }
    if (next.length === 0) return;
    const keys = new Set(next.map((item) => item.key));
    for (const key of keys) launched.current.add(key);
    setItems((current) =>
      current.map((item) => (keys.has(item.key) ? { ...item, status: "uploading", message: undefined, speed: 0 } : item)),
    );
    for (const key of keys) {
      void launch(key).finally(() => launched.current.delete(key));
    }
  }, [items, parallel, launch, setItems]);

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
    [folderId, setItems],
  );
  const pauseAll = () => {
    for (const key of running.current) void uploads.current.get(key)?.abort();
    running.current.clear();
    setItems((current) =>
      current.map((item) => (item.status === "uploading" || item.status === "queued" ? { ...item, status: "paused", speed: 0 } : item)),
    );
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

  return {
    items,
    totals: summarize(items),
    canPauseAll: items.some((item) => item.status === "uploading" || item.status === "queued"),
    canResumeAll: items.some((item) => item.status === "paused"),
    canRetry: items.some((item) => item.status === "error" && item.retryable),
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
  };
}

function slotOf(item: QueueItem): number {
  return item.size <= SMALL_FILE_MAX ? 0.5 : 1;
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

/** Creates the folders of each path below the folder (they already exist: fine). Returns the failures' messages. */
async function createFolderPaths(folderId: string, paths: string[], csrfToken: string): Promise<string[]> {
  const failures: string[] = [];
  for (const path of paths) {
    const body = new FormData();
    body.set("folderId", folderId);
    body.set("path", path);
    try {
      const response = await fetch("/folders/path", {
        method: "POST",
        body,
        headers: { Accept: "application/json", "X-CSRF-Token": csrfToken },
      });
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

/**
 * 4xx answers that sending the same file again cannot change: a bad or over-long name, the size
 * limit, no quota left, no permission. Not these: 401 (log in, then retry), 404 (the upload is
 * started over), 408, 409 and 423 (tus offset races and locks), 429 (later).
 */
export function isFinalRefusal(error: Error): boolean {
  const status = (error as { originalResponse?: { getStatus(): number } | null }).originalResponse?.getStatus() ?? 0;
  return status >= 400 && status < 500 && ![401, 404, 408, 409, 423, 429].includes(status);
}

function describeTusError(error: Error): string {
  const response = (error as { originalResponse?: { getStatus(): number; getBody(): string } | null }).originalResponse;
  const body = response?.getBody()?.trim();
  // Coffer's 503 (a dependency down) is problem+json: its detail is the sentence for people.
  const detail = body?.startsWith("{") ? problemDetail(body) : null;
  if (detail) return detail;
  if (response && body && body.length < 300) return body;
  if (response?.getStatus() === 401) return "Your session has ended. Log in again, then retry.";
  return "The connection was lost. Retry to continue from where it stopped.";
}

function problemDetail(body: string): string | null {
  try {
    const detail = (JSON.parse(body) as { detail?: unknown }).detail;
    return typeof detail === "string" ? detail : null;
  } catch {
    return null;
  }
}
