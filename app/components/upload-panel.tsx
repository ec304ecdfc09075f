import { useRevalidator } from "@remix-run/react";
import { useCallback, useEffect, useRef, useState, type ReactNode } from "react";
import type { Upload as TusUpload } from "tus-js-client";
import { formatBytes } from "~/lib/format";

type Status = "queued" | "uploading" | "paused" | "done" | "error";

interface QueueItem {
  key: string;
  name: string;
  size: number;
  sent: number;
  status: Status;
  message?: string;
  startedAt: number;
  resumed: boolean;
}

interface StoredUpload {
  size: number;
  metadata: Record<string, string>;
  creationTime: string;
}

const CHUNK_SIZE = 64 * 1024 * 1024;

/**
 * Resumable uploads with tus when JavaScript runs; `children` (a plain multipart form) is what
 * people without JavaScript get, and what everyone sees until the page hydrates.
 */
export function UploadPanel({ folderId, maxUploadSize, children }: { folderId: string; maxUploadSize: number; children: ReactNode }) {
  const [enhanced, setEnhanced] = useState(false);
  const [items, setItems] = useState<QueueItem[]>([]);
  const [unfinished, setUnfinished] = useState<StoredUpload[]>([]);
  const [dragging, setDragging] = useState(false);
  const [onConflict, setOnConflict] = useState<"keep-both" | "replace" | "cancel">("keep-both");
  const uploads = useRef(new Map<string, TusUpload>());
  const inputRef = useRef<HTMLInputElement>(null);
  const revalidator = useRevalidator();

  useEffect(() => {
    setEnhanced(true);
    setUnfinished(readUnfinished(folderId));
  }, [folderId]);

  const update = useCallback((key: string, patch: Partial<QueueItem>) => {
    setItems((current) => current.map((item) => (item.key === key ? { ...item, ...patch } : item)));
  }, []);

  const startFiles = useCallback(
    async (files: File[]) => {
      const { Upload } = await import("tus-js-client");
      for (const file of files) {
        const key = `${file.name}-${file.size}-${file.lastModified}-${Math.random().toString(36).slice(2)}`;
        if (file.size > maxUploadSize) {
          setItems((current) => [
            ...current,
            { key, name: file.name, size: file.size, sent: 0, status: "error", startedAt: Date.now(), resumed: false, message: `Larger than the ${formatBytes(maxUploadSize)} limit.` },
          ]);
          continue;
        }
        setItems((current) => [...current, { key, name: file.name, size: file.size, sent: 0, status: "queued", startedAt: Date.now(), resumed: false }]);
        const upload = new Upload(file, {
          endpoint: "/api/uploads",
          chunkSize: CHUNK_SIZE,
          retryDelays: [0, 1000, 3000, 5000, 10000, 20000, 30000],
          removeFingerprintOnSuccess: true,
          storeFingerprintForResuming: true,
          metadata: { filename: file.name, filetype: file.type, folderId, onConflict },
          onProgress: (sent) => update(key, { sent, status: "uploading" }),
          onSuccess: () => {
            update(key, { sent: file.size, status: "done" });
            uploads.current.delete(key);
            setUnfinished(readUnfinished(folderId));
            revalidator.revalidate();
          },
          onError: (error) => update(key, { status: "error", message: describeTusError(error) }),
        });
        uploads.current.set(key, upload);
        const previous = await upload.findPreviousUploads();
        if (previous.length > 0) {
          upload.resumeFromPreviousUpload(previous[0]);
          update(key, { resumed: true });
        }
        update(key, { status: "uploading", startedAt: Date.now() });
        upload.start();
      }
    },
    [folderId, maxUploadSize, onConflict, revalidator, update],
  );

  if (!enhanced) return <section className="card p-4">{children}</section>;

  const pause = (key: string) => {
    void uploads.current.get(key)?.abort();
    update(key, { status: "paused" });
  };
  const resume = (key: string) => {
    uploads.current.get(key)?.start();
    update(key, { status: "uploading", message: undefined });
  };
  const cancel = (key: string) => {
    void uploads.current.get(key)?.abort(true);
    uploads.current.delete(key);
    setItems((current) => current.filter((item) => item.key !== key));
    setUnfinished(readUnfinished(folderId));
  };

  return (
    <section aria-labelledby="upload-heading" className="card p-4">
      <h2 id="upload-heading" className="text-base font-semibold">
        Upload files
      </h2>
      <div
        className={`mt-3 rounded-lg border-2 border-dashed p-6 text-center ${dragging ? "border-blue-600 bg-blue-50" : "border-slate-300"}`}
        onDragOver={(event) => {
          event.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={(event) => {
          event.preventDefault();
          setDragging(false);
          void startFiles(Array.from(event.dataTransfer.files));
        }}
      >
        <p className="text-sm text-slate-700">Drop files here, or</p>
        <label htmlFor="tus-file-input" className="btn-primary mt-2 cursor-pointer">
          Choose files
        </label>
        <input
          ref={inputRef}
          id="tus-file-input"
          data-testid="tus-file-input"
          type="file"
          multiple
          className="sr-only"
          onChange={(event) => {
            const files = Array.from(event.currentTarget.files ?? []);
            event.currentTarget.value = "";
            void startFiles(files);
          }}
        />
        <p className="mt-2 text-xs text-slate-600">
          Up to {formatBytes(maxUploadSize)} per file. Uploads resume after a lost connection or a page reload.
        </p>
      </div>

      <div className="mt-3 flex items-center gap-2 text-sm">
        <label htmlFor="tus-on-conflict" className="text-slate-800">
          If a name is taken
        </label>
        <select
          id="tus-on-conflict"
          value={onConflict}
          onChange={(event) => setOnConflict(event.currentTarget.value as typeof onConflict)}
          className="rounded-md border border-slate-300 bg-white px-2 py-1"
        >
          <option value="keep-both">Keep both</option>
          <option value="replace">Replace (keep the old one as a version)</option>
          <option value="cancel">Don’t upload it</option>
        </select>
      </div>

      {unfinished.length > 0 ? (
        <div className="mt-3 rounded-md border border-amber-200 bg-amber-50 p-3 text-sm text-amber-900" role="status">
          <p className="font-medium">Unfinished uploads in this folder</p>
          <ul className="mt-1 list-inside list-disc">
            {unfinished.map((upload) => (
              <li key={upload.creationTime + upload.metadata.filename}>
                {upload.metadata.filename} ({formatBytes(upload.size)})
              </li>
            ))}
          </ul>
          <p className="mt-1">Choose the same file again to continue where it stopped.</p>
        </div>
      ) : null}

      {items.length > 0 ? (
        <ul className="mt-4 space-y-3" aria-label="Upload queue">
          {items.map((item) => (
            <UploadRow key={item.key} item={item} onPause={pause} onResume={resume} onCancel={cancel} />
          ))}
        </ul>
      ) : null}
    </section>
  );
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
  const percent = item.size === 0 ? (item.status === "done" ? 100 : 0) : Math.floor((item.sent / item.size) * 100);
  const elapsed = (Date.now() - item.startedAt) / 1000;
  const speed = elapsed > 0 ? item.sent / elapsed : 0;
  const statusText =
    item.status === "done"
      ? "Uploaded"
      : item.status === "error"
        ? item.message ?? "Failed"
        : item.status === "paused"
          ? `Paused at ${percent}%`
          : `${percent}% · ${formatBytes(item.sent)} of ${formatBytes(item.size)}${speed > 0 ? ` · ${formatBytes(speed)}/s` : ""}${item.resumed ? " · resumed" : ""}`;
  return (
    <li className="rounded-md border border-slate-200 p-3" data-testid="upload-item" data-status={item.status}>
      <div className="flex flex-wrap items-center justify-between gap-2">
        <span className="font-medium break-all">{item.name}</span>
        <div className="flex gap-2">
          {item.status === "uploading" ? (
            <button type="button" className="btn-secondary" onClick={() => onPause(item.key)}>
              Pause
            </button>
          ) : null}
          {item.status === "paused" || item.status === "error" ? (
            <button type="button" className="btn-secondary" onClick={() => onResume(item.key)}>
              {item.status === "error" ? "Retry" : "Resume"}
            </button>
          ) : null}
          {item.status !== "done" ? (
            <button type="button" className="btn-secondary" onClick={() => onCancel(item.key)}>
              Cancel
            </button>
          ) : null}
        </div>
      </div>
      <div
        className="mt-2 h-2 w-full overflow-hidden rounded bg-slate-200"
        role="progressbar"
        aria-label={`Upload of ${item.name}`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
      >
        <div className={`h-full ${item.status === "error" ? "bg-red-600" : "bg-blue-700"}`} style={{ width: `${percent}%` }} />
      </div>
      <p className={`mt-1 text-xs ${item.status === "error" ? "text-red-700" : "text-slate-600"}`} aria-live="polite">
        {statusText}
      </p>
    </li>
  );
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
