import { Input } from "~/components/ui/input";
import { Card } from "~/components/ui/card";
import { Button } from "~/components/ui/button";
import { Form, Link } from "@remix-run/react";
import { CsrfInput } from "~/components/csrf-input";
import { FileIcon, FolderIcon } from "~/components/icons";
import { formatDate } from "~/lib/format";
import { LinkField } from "~/components/shares/link-field";

/** A link as the page shows it: the loader's view of a share link, with its full address. */
export interface ListedLink {
  id: string;
  url: string;
  mode: string;
  item: { kind: string; id: string; name: string; inTrash: boolean };
  hasPassword: boolean;
  createdAt: string | Date;
  expiresAt: string | Date | null;
  expired: boolean;
  maxDownloads: number | null;
  downloadCount: number;
}

/** Every link the user made, each with its settings and a form to edit or revoke it. */
export function LinksSection({ links, busy }: { links: ListedLink[]; busy: boolean }) {
  return (
    <section aria-labelledby="links-heading" className="space-y-3">
      <h2 id="links-heading" className="text-lg font-semibold">
        All my links
      </h2>
      {links.length === 0 ? (
        <Card padding="none" className="p-8 text-center">
          <p className="font-medium">You have not shared any links yet.</p>
          <p className="mt-1 text-sm text-text-muted">
            Open a file’s details or a folder in{" "}
            <Link to="/files" className="text-accent-text underline">
              My files
            </Link>{" "}
            and choose “Share”, or open <code>/shares?item=folder:&lt;id&gt;</code>. You can protect a link with a password, make it expire,
            limit its downloads, or turn a folder into a file drop that only accepts uploads.
          </p>
        </Card>
      ) : (
        <ul className="space-y-4">
          {links.map((link) => (
            <LinkCard key={link.id} link={link} busy={busy} />
          ))}
        </ul>
      )}
    </section>
  );
}

function LinkCard({ link, busy }: { link: ListedLink; busy: boolean }) {
  return (
    <Card as="li" padding="none" className="space-y-3 p-4 text-sm">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <p className="flex items-center gap-2 font-medium break-all">
          {link.item.kind === "folder" ? <FolderIcon /> : <FileIcon />}
          {link.item.name}
          {link.item.inTrash ? <span className="text-danger">(in the trash: the link does not open)</span> : null}
        </p>
        <Link to={`/shares?item=${link.item.kind}:${link.item.id}`} className="text-accent-text hover:underline">
          Share settings
        </Link>
      </div>
      <div>
        <label htmlFor={`url-${link.id}`} className="label">
          Link address
        </label>
        <Input id={`url-${link.id}`} readOnly value={link.url} className="font-mono" onFocus={(e) => e.currentTarget.select()} />
      </div>
      <dl className="grid grid-cols-2 gap-x-4 gap-y-1 sm:grid-cols-5">
        <div>
          <dt className="text-text-muted">Mode</dt>
          <dd>{link.mode === "DROP" ? "File drop" : "View and download"}</dd>
        </div>
        <div>
          <dt className="text-text-muted">Created</dt>
          <dd>{formatDate(link.createdAt)}</dd>
        </div>
        <div>
          <dt className="text-text-muted">Expires</dt>
          <dd>{link.expiresAt ? `${formatDate(link.expiresAt)}${link.expired ? " (expired)" : ""}` : "Never"}</dd>
        </div>
        <div>
          <dt className="text-text-muted">Downloads</dt>
          <dd>
            {link.downloadCount} / {link.maxDownloads ?? "no limit"}
          </dd>
        </div>
        <div>
          <dt className="text-text-muted">Password</dt>
          <dd>{link.hasPassword ? "Yes" : "No"}</dd>
        </div>
      </dl>
      <details>
        <summary className="cursor-pointer text-accent-text">Edit or revoke</summary>
        <Form method="post" className="mt-3 grid gap-3 sm:grid-cols-2">
          <CsrfInput />
          <input type="hidden" name="intent" value="update-link" />
          <input type="hidden" name="linkId" value={link.id} />
          <LinkField
            label={link.hasPassword ? "New password (empty keeps the current one)" : "Password (optional)"}
            name="password"
            type="password"
            autoComplete="new-password"
            id={`password-${link.id}`}
          />
          {link.hasPassword ? (
            <label className="inline-flex items-center gap-2 self-end text-sm">
              <input type="checkbox" name="clearPassword" value="on" /> Remove the password
            </label>
          ) : (
            <span />
          )}
          <LinkField
            label="Expires (UTC, empty: never)"
            name="expiresAt"
            type="datetime-local"
            defaultValue={toInputValue(link.expiresAt)}
            id={`expires-${link.id}`}
          />
          {link.mode === "READ" ? (
            <LinkField
              label="Download limit (empty: none)"
              name="maxDownloads"
              type="number"
              min={1}
              defaultValue={link.maxDownloads ?? ""}
              id={`limit-${link.id}`}
            />
          ) : (
            <span />
          )}
          <div>
            <Button type="submit" variant="primary" disabled={busy}>
              Save changes
            </Button>
          </div>
        </Form>
        <Form method="post" className="mt-3">
          <CsrfInput />
          <input type="hidden" name="intent" value="revoke-link" />
          <input type="hidden" name="linkId" value={link.id} />
          <Button type="submit" variant="danger-quiet" disabled={busy}>
            Revoke link
          </Button>
        </Form>
      </details>
    </Card>
  );
}

function toInputValue(value: string | Date | null): string {
  if (!value) return "";
  return new Date(value).toISOString().slice(0, 16);
}
