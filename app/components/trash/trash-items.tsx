import { Card } from "~/components/ui/card";
import { Button, ButtonLink } from "~/components/ui/button";
import { Form, Link } from "@remix-run/react";
import { useEffect, useRef, useState } from "react";
import { CsrfInput } from "~/components/csrf-input";
import { FileIcon, FolderIcon } from "~/components/icons";
import { TableHead } from "~/components/table-head";
import { formatBytes, formatDate } from "~/lib/format";

/** An item as the trash lists it. */
export interface TrashedItem {
  kind: "file" | "folder";
  id: string;
  name: string;
  size: number;
  trashedAt: string;
  originalFolder: { id: string; name: string; isRoot: boolean } | null;
}

/**
 * The items in the trash, each restorable, with a form to restore a selection. `busy` names the
 * form being sent (`intent:id`).
 */
export function TrashItems({ items, limit, busy }: { items: TrashedItem[]; limit: number; busy: string | null }) {
  return (
    <Card as="section" padding="none" className="overflow-x-auto" aria-labelledby="trash-items-heading">
      <h2 id="trash-items-heading" className="sr-only">
        Items in the trash
      </h2>
      {items.length === 0 ? (
        <div className="p-10 text-center">
          <p className="font-medium">The trash is empty.</p>
          <p className="mt-1 text-sm text-text-muted">
            Files and folders you move to the trash appear here until you restore them or they expire.
          </p>
        </div>
      ) : (
        <>
          {/* The rows hold forms of their own, so the selection form stands apart and the row
              checkboxes join it through their form attribute. */}
          <form id="trash-bulk-form" method="post" action="/bulk" className="flex items-center gap-2 border-b border-border p-3">
            <CsrfInput />
            <input type="hidden" name="intent" value="restore" />
            <input type="hidden" name="from" value="/trash" />
            <RestoreSelectedButton />
          </form>
          <table className="w-full text-left text-sm">
            <TableHead
              columns={[
                { label: "Name" },
                { label: "Original location" },
                { label: "Trashed", hideBelow: "md" },
                { label: "Size" },
                { label: "Actions" },
              ]}
            />
            <tbody className="divide-y divide-border">
              {items.map((item) => (
                <TrashRow key={item.id} item={item} busy={busy} />
              ))}
            </tbody>
          </table>
        </>
      )}
      {items.length >= limit ? (
        <p className="border-t border-border p-3 text-sm text-text-muted">
          Showing the {limit} most recently trashed items. Restore or delete some to see older ones.
        </p>
      ) : null}
    </Card>
  );
}

/**
 * "Restore selected": with JavaScript it stays disabled until an item is ticked (as the file
 * list's bulk buttons do) and says how many; without, an empty selection gets a page saying what
 * to do.
 */
function RestoreSelectedButton() {
  const [hydrated, setHydrated] = useState(false);
  const [count, setCount] = useState(0);
  const ref = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    setHydrated(true);
    const boxes = () => document.querySelectorAll<HTMLInputElement>('input[form="trash-bulk-form"][name="item"]');
    const recount = () => setCount(Array.from(boxes()).filter((box) => box.checked).length);
    recount();
    document.addEventListener("change", recount);
    // Rows come and go with live updates and restores.
    const table = ref.current?.closest("section");
    const observer = new MutationObserver(recount);
    if (table) observer.observe(table, { childList: true, subtree: true });
    return () => {
      document.removeEventListener("change", recount);
      observer.disconnect();
    };
  }, []);
  return (
    <>
      <Button ref={ref} type="submit" variant="secondary" disabled={hydrated && count === 0}>
        Restore selected
      </Button>
      {hydrated ? (
        <span aria-live="polite" className="text-sm text-text" data-testid="trash-selected-count">
          {count === 0 ? "Select items to restore them together." : `${count} selected`}
        </span>
      ) : null}
    </>
  );
}

function TrashRow({ item, busy }: { item: TrashedItem; busy: string | null }) {
  return (
    <tr>
      <td className="px-4 py-2">
        <span className="flex items-center gap-2">
          <input
            type="checkbox"
            name="item"
            value={`${item.kind}:${item.id}`}
            form="trash-bulk-form"
            aria-label={`Select ${item.name}`}
            className="h-4 w-4"
          />
          {item.kind === "folder" ? <FolderIcon /> : <FileIcon />}
          <span className="break-all">{item.name}</span>
          <span className="sr-only">({item.kind})</span>
        </span>
      </td>
      <td className="px-4 py-2 text-text">
        {item.originalFolder ? (
          <Link
            to={item.originalFolder.isRoot ? "/files" : `/files/${item.originalFolder.id}`}
            className="text-accent-text hover:underline"
          >
            {item.originalFolder.name}
          </Link>
        ) : (
          <span title="The original folder is gone or in the trash too">Gone — restores to My files</span>
        )}
      </td>
      <td className="hidden px-4 py-2 text-text-muted md:table-cell">{formatDate(item.trashedAt)}</td>
      <td className="px-4 py-2 whitespace-nowrap text-text">{formatBytes(item.size)}</td>
      <td className="px-4 py-2">
        <div className="flex flex-wrap gap-2">
          <Form method="post">
            <CsrfInput />
            <input type="hidden" name="intent" value="restore" />
            <input type="hidden" name="kind" value={item.kind} />
            <input type="hidden" name="id" value={item.id} />
            <Button type="submit" variant="secondary" disabled={busy === `restore:${item.id}`}>
              Restore<span className="sr-only"> {item.name}</span>
            </Button>
          </Form>
          <ButtonLink to={`?confirm=delete&item=${item.kind}:${item.id}`} variant="danger-quiet">
            Delete forever…<span className="sr-only"> {item.name}</span>
          </ButtonLink>
        </div>
      </td>
    </tr>
  );
}
