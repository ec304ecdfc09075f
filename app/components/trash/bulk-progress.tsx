import { useEffect } from "react";
import { useRevalidator } from "@remix-run/react";

export interface BulkProgressView {
  id: string;
  kind: "empty-trash" | "delete-forever" | "trash-folder" | "restore";
  targetName: string | null;
  total: number;
  done: number;
}

const REFRESH_SECONDS = 3;

function describe({ kind, targetName }: BulkProgressView): string {
  const name = targetName ?? "";
  if (kind === "empty-trash") return "Emptying trash";
  if (kind === "trash-folder") return `Moving “${name}” to the trash`;
  if (kind === "restore") return `Restoring “${name}”`;
  return `Deleting “${name}” for good`;
}
const count = (n: number) => n.toLocaleString("en-GB");

/**
 * Deletions under way in the background, with how far each is. Without JavaScript the page
 * reloads itself every few seconds (and offers a link); with it, the page data is refreshed.
 */
export function BulkProgress({ operations }: { operations: BulkProgressView[] }) {
  const revalidator = useRevalidator();
  const active = operations.length > 0;
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => {
      if (revalidator.state === "idle") revalidator.revalidate();
    }, REFRESH_SECONDS * 1000);
    return () => clearInterval(timer);
  }, [active, revalidator]);
  if (!active) return null;
  return (
    <section aria-label="Work under way" className="rounded-md border border-border bg-surface px-3 py-2 text-sm text-text">
      <noscript>
        <meta httpEquiv="refresh" content={String(REFRESH_SECONDS)} />
      </noscript>
      <ul className="space-y-1">
        {operations.map((operation) => (
          <li key={operation.id} role="status">
            {`${describe(operation)}: ${count(Math.min(operation.done, operation.total))} of ${count(operation.total)} ${
              operation.kind === "trash-folder" || operation.kind === "restore" ? "files" : "items"
            }`}
            <progress className="ml-2 align-middle" max={operation.total} value={Math.min(operation.done, operation.total)} />
          </li>
        ))}
      </ul>
      <p className="mt-1 text-text-muted">
        This goes on in the background, also if you leave this page.{" "}
        <a href="/trash" className="underline">
          Refresh
        </a>
      </p>
    </section>
  );
}
