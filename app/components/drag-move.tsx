import { Button } from "~/components/ui/button";
import { useFetcher } from "@remix-run/react";
import { createContext, useCallback, useContext, useEffect, useRef, useState, type DragEvent, type ReactNode } from "react";
import type { BulkActionData } from "~/domain/files/bulk-action";
import { useCsrfToken } from "./csrf-input";

/**
 * Moving items by dragging them onto a folder (JavaScript only; the Move… picker stays for
 * keyboards and for pages without JavaScript). Drags carry this MIME type, so drop targets ignore
 * files dragged in from the desktop (those are for the upload panel) and vice versa.
 */
export const MOVE_MIME = "application/x-coffer-items";

type ItemRef = `${"file" | "folder"}:${string}`;

interface DragMove {
  /** Props making a listed item draggable; none until JavaScript runs or when moving is not allowed. */
  dragSource(kind: "file" | "folder", id: string): Record<string, unknown>;
  /** Props making an element a drop target for the folder `folderId`. */
  dropTarget(folderId: string, name: string): Record<string, unknown>;
  /** Whether the folder is under a drag right now (to highlight it). */
  isOver(folderId: string): boolean;
}

const Context = createContext<DragMove | null>(null);
const StatusContext = createContext<ReactNode>(null);

/** Where the outcome of a drop is shown (and a name conflict asked about). */
export function DragMoveStatus() {
  return <>{useContext(StatusContext)}</>;
}

/** The drag-and-drop move of the surrounding folder page; null outside it (share pages, no JS). */
export function useDragMove(): DragMove | null {
  return useContext(Context);
}

function isMoveDrag(event: DragEvent) {
  return Array.from(event.dataTransfer.types).includes(MOVE_MIME);
}

/** The selected items' values when `ref` is one of them, else just `ref`. */
function draggedItems(ref: ItemRef): ItemRef[] {
  const selected = Array.from(
    document.querySelectorAll<HTMLInputElement>('input[data-bulk-item][form="bulk-form"]:checked'),
    (box) => box.value as ItemRef,
  );
  return selected.includes(ref) ? selected : [ref];
}

type Pending = { destination: string; name: string; items: ItemRef[] };

export function DragMoveProvider({ enabled, from, children }: { enabled: boolean; from: string; children: ReactNode }) {
  const fetcher = useFetcher<BulkActionData>();
  const [hydrated, setHydrated] = useState(false);
  const [over, setOver] = useState<string | null>(null);
  /** The last drop, so a name conflict can be retried with the chosen policy. */
  const last = useRef<Pending | null>(null);
  const [conflicts, setConflicts] = useState<Pending | null>(null);
  const [message, setMessage] = useState<{ text: string; tone: "success" | "error" } | null>(null);
  const messageRef = useRef<HTMLDivElement>(null);

  useEffect(() => setHydrated(true), []);

  const csrfToken = useCsrfToken();
  const submit = useCallback(
    (pending: Pending, policy: "cancel" | "keep-both" | "replace") => {
      last.current = pending;
      setConflicts(null);
      setMessage(null);
      const form = new FormData();
      form.set("_csrf", csrfToken);
      form.set("intent", "move");
      form.set("from", from);
      form.set("destination", pending.destination);
      form.set("policy", policy);
      form.set("respond", "inline");
      for (const item of pending.items) form.append("item", item);
      fetcher.submit(form, { method: "post", action: "/bulk" });
    },
    [fetcher, from, csrfToken],
  );

  // The server's answer: a summary, possibly with items skipped because their name is taken.
  const result = fetcher.state === "idle" ? fetcher.data : undefined;
  useEffect(() => {
    if (!result || !last.current) return;
    if (!result.ok) {
      setMessage({ text: result.message, tone: "error" });
    } else {
      const outcome = result.outcome;
      const taken = outcome.results.filter((item) => !item.ok && item.status === 409).map((item) => `${item.kind}:${item.id}` as ItemRef);
      setMessage({ text: outcome.message, tone: outcome.skipped === 0 ? "success" : "error" });
      if (taken.length > 0) setConflicts({ ...last.current, items: taken });
    }
    last.current = null;
    messageRef.current?.focus();
  }, [result]);

  const value: DragMove | null =
    hydrated && enabled
      ? {
          dragSource: (kind, id) => ({
            draggable: true,
            onDragStart: (event: DragEvent) => {
              const items = draggedItems(`${kind}:${id}`);
              event.dataTransfer.setData(MOVE_MIME, JSON.stringify(items));
              event.dataTransfer.setData("text/plain", `${items.length} ${items.length === 1 ? "item" : "items"}`);
              event.dataTransfer.effectAllowed = "move";
            },
          }),
          dropTarget: (folderId, name) => ({
            "data-drop-folder": folderId,
            // Files dragged in from the desktop and dropped here upload into this folder (upload-panel.tsx).
            "data-drop-name": name,
            onDragOver: (event: DragEvent) => {
              if (!isMoveDrag(event)) return;
              event.preventDefault();
              event.dataTransfer.dropEffect = "move";
              if (over !== folderId) setOver(folderId);
            },
            onDragLeave: (event: DragEvent) => {
              if (event.currentTarget.contains(event.relatedTarget as Node | null)) return;
              setOver((current) => (current === folderId ? null : current));
            },
            onDrop: (event: DragEvent) => {
              if (!isMoveDrag(event)) return;
              event.preventDefault();
              setOver(null);
              let items: ItemRef[] = [];
              try {
                items = (JSON.parse(event.dataTransfer.getData(MOVE_MIME)) as unknown[])
                  .filter((v): v is ItemRef => typeof v === "string")
                  .slice(0, 1000);
              } catch {
                return;
              }
              if (items.length > 0) submit({ destination: folderId, name, items }, "cancel");
            },
          }),
          isOver: (folderId) => over === folderId,
        }
      : null;

  const status =
    hydrated && (message || conflicts || fetcher.state !== "idle") ? (
      <div ref={messageRef} tabIndex={-1} aria-live="polite" className="space-y-2 outline-none" data-testid="drag-move-status">
        {fetcher.state !== "idle" ? <p className="text-sm text-text-muted">Moving…</p> : null}
        {message ? (
          <p
            role={message.tone === "error" ? "alert" : "status"}
            className={`rounded-md border px-3 py-2 text-sm ${message.tone === "error" ? "border-danger-border bg-danger-soft text-danger" : "border-success-border bg-success-soft text-success"}`}
          >
            {message.text}
          </p>
        ) : null}
        {conflicts ? (
          <div role="group" aria-label="Name already taken" className="flex flex-wrap items-center gap-2 text-sm">
            <span>{`Move ${conflicts.items.length === 1 ? "it" : "them"} into “${conflicts.name}” anyway?`}</span>
            <Button type="button" variant="secondary" onClick={() => submit(conflicts, "keep-both")}>
              Keep both
            </Button>
            <Button type="button" variant="secondary" onClick={() => submit(conflicts, "replace")}>
              Replace
            </Button>
            <Button type="button" variant="secondary" onClick={() => setConflicts(null)}>
              Don’t move
            </Button>
          </div>
        ) : null}
      </div>
    ) : null;

  return (
    <Context.Provider value={value}>
      <StatusContext.Provider value={status}>{children}</StatusContext.Provider>
    </Context.Provider>
  );
}

/** Highlight classes for a drop target under a drag. */
export function dropHighlight(active: boolean): string {
  return active ? "bg-accent-soft ring-2 ring-focus" : "";
}
