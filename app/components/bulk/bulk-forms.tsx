import { Card } from "~/components/ui/card";
import { Button, ButtonLink } from "~/components/ui/button";
import { Form, Link } from "@remix-run/react";
import { CsrfInput } from "~/components/csrf-input";
import { FormMessage } from "~/components/field";
import { FileIcon, FolderIcon } from "~/components/icons";

type SelectedItem = { kind: string; id: string; name: string };
type Selection = { items: SelectedItem[]; back: string; error: string | null; missing: number };
type Destinations = { folders: Array<{ id: string; label: string }>; truncated: boolean };

/** The no-JavaScript step of a bulk move or copy: the destination and what to do on a name clash. */
export function ChooseDestination({
  page,
  busy,
}: {
  page: Selection & { intent: "move" | "copy"; destinations: Destinations };
  busy: boolean;
}) {
  const verb = page.intent === "copy" ? "Copy" : "Move";
  return (
    <div className="mx-auto max-w-2xl space-y-4">
      <h1 className="text-2xl font-semibold">{`${verb} ${page.items.length} ${page.items.length === 1 ? "item" : "items"}`}</h1>
      <FormMessage message={page.error ?? undefined} tone="error" />
      <MissingNote missing={page.missing} />
      {page.items.length > 0 ? (
        <Form method="post" action="/bulk" className="space-y-4">
          <CsrfInput />
          <input type="hidden" name="intent" value={page.intent} />
          <input type="hidden" name="from" value={page.back} />
          <SelectedItems items={page.items} />
          <div>
            <label htmlFor="bulk-destination" className="label">
              Destination folder
            </label>
            <select id="bulk-destination" name="destination" required className="input">
              {page.destinations.folders.map((folder) => (
                <option key={folder.id} value={folder.id}>
                  {folder.label}
                </option>
              ))}
            </select>
            {page.destinations.truncated ? <p className="text-sm text-text-muted">Only the first folders are listed.</p> : null}
          </div>
          <div>
            <label htmlFor="bulk-policy" className="label">
              If a name is taken
            </label>
            <select id="bulk-policy" name="policy" defaultValue="cancel" className="input">
              <option value="cancel">Skip that item</option>
              <option value="keep-both">Keep both</option>
              <option value="replace">Replace (keep the old one as a version)</option>
            </select>
          </div>
          <div className="flex gap-3">
            <Button type="submit" variant="primary" disabled={busy}>
              {busy ? `${verb === "Copy" ? "Copying" : "Moving"}…` : `${verb} here`}
            </Button>
            <ButtonLink to={page.back} variant="secondary">
              Cancel
            </ButtonLink>
          </div>
        </Form>
      ) : (
        <p>
          <Link to={page.back} className="text-accent-text hover:underline">
            Back
          </Link>
        </p>
      )}
    </div>
  );
}

/** Trashing asks first: this page's POST carries the CSRF token the selection's GET form cannot. */
export function ConfirmTrash({ page, busy }: { page: Selection; busy: boolean }) {
  const count = `${page.items.length} ${page.items.length === 1 ? "item" : "items"}`;
  return (
    <div className="mx-auto max-w-2xl space-y-4">
      <h1 className="text-2xl font-semibold">{`Move ${count} to the trash?`}</h1>
      <FormMessage message={page.error ?? undefined} tone="error" />
      <MissingNote missing={page.missing} />
      {page.items.length > 0 ? (
        <Form method="post" action="/bulk" className="space-y-4">
          <CsrfInput />
          <input type="hidden" name="intent" value="trash" />
          <input type="hidden" name="from" value={page.back} />
          <p className="text-sm text-text-muted">You can restore them from the trash until they expire.</p>
          <SelectedItems items={page.items} />
          <div className="flex gap-3">
            <Button type="submit" variant="danger" disabled={busy}>
              {busy ? "Moving to the trash…" : "Move to the trash"}
            </Button>
            <ButtonLink to={page.back} variant="secondary">
              Cancel
            </ButtonLink>
          </div>
        </Form>
      ) : (
        <p>
          <Link to={page.back} className="text-accent-text hover:underline">
            Back
          </Link>
        </p>
      )}
    </div>
  );
}

/** The selection, named, each posted back as an `item` field. */
function SelectedItems({ items }: { items: SelectedItem[] }) {
  return (
    <Card as="ul" padding="none" className="divide-y divide-border text-sm" aria-label="Selected items">
      {items.map((item) => (
        <li key={`${item.kind}:${item.id}`} className="flex items-center gap-2 px-4 py-2">
          <input type="hidden" name="item" value={`${item.kind}:${item.id}`} />
          {item.kind === "folder" ? <FolderIcon /> : <FileIcon />}
          <span className="wrap-anywhere">{item.name}</span>
        </li>
      ))}
    </Card>
  );
}

function MissingNote({ missing }: { missing: number }) {
  if (missing === 0) return null;
  return (
    <p className="text-sm text-text-muted">{`${missing} selected ${missing === 1 ? "item was" : "items were"} not found and will be skipped.`}</p>
  );
}
