import { Link } from "@remix-run/react";
import { FileIcon, FolderIcon } from "~/components/icons";
import { Badge } from "~/components/ui/badge";
import { ButtonLink, buttonClass } from "~/components/ui/button";
import { DialogOpener } from "~/components/ui/dialog";

type Crumb = { id: string; name: string; isRoot: boolean };

/** The folders above the item, each a link (left out at the top level). */
export function LocationNav({ location }: { location: Crumb[] }) {
  if (location.length === 0) return null;
  return (
    <nav aria-label="Location">
      <ol className="flex flex-wrap items-center gap-1 text-sm text-text-muted">
        {location.map((crumb, index) => (
          <li key={crumb.id} className="flex items-center gap-1">
            {index > 0 ? <span aria-hidden="true">/</span> : null}
            <Link to={crumb.isRoot ? "/files" : `/files/${crumb.id}`} className="link">
              {crumb.name}
            </Link>
          </li>
        ))}
      </ol>
    </nav>
  );
}

export interface HeaderItem {
  kind: "file" | "folder";
  id: string;
  name: string;
  isRoot: boolean;
  mimeType: string | null;
  thumbnail: string | null;
}

/**
 * The item's thumbnail or icon, its name and type, and its actions: download (or open the
 * folder), open the preview, share, and, for who may change it, the rename, move, copy and
 * trash dialogs (links to `#rename`… that work without JavaScript).
 */
export function DetailsHeading({
  item,
  openHref,
  viewHref,
  isOwner,
  canEdit,
}: {
  item: HeaderItem;
  openHref: string;
  /** The file opened on its own in the browser (its inline copy), when it has a preview. */
  viewHref: string | null;
  isOwner: boolean;
  canEdit: boolean;
}) {
  return (
    <header className="flex flex-wrap items-start gap-4">
      {item.thumbnail ? (
        <img
          src={item.thumbnail}
          alt=""
          className="h-16 w-16 shrink-0 rounded-control border border-border bg-surface object-cover"
          data-testid="details-thumbnail"
        />
      ) : (
        <span className="flex h-16 w-16 shrink-0 items-center justify-center rounded-control border border-border bg-surface">
          {item.kind === "file" ? <FileIcon className="h-8 w-8 text-text-muted" /> : <FolderIcon className="h-8 w-8 text-warning" />}
        </span>
      )}
      <div className="min-w-0 flex-1 space-y-2">
        <h1 className="text-2xl font-semibold break-words [overflow-wrap:anywhere]">{item.name}</h1>
        <p className="flex flex-wrap items-center gap-2 text-sm text-text-muted">
          <Badge>{item.kind === "file" ? "File" : "Folder"}</Badge>
          {item.mimeType ? <span className="break-all">{item.mimeType}</span> : null}
        </p>
        <div className="flex flex-wrap items-center gap-2" data-testid="details-actions">
          {item.kind === "file" ? (
            <a href={openHref} className={buttonClass("primary")} download>
              Download
            </a>
          ) : (
            <ButtonLink to={openHref} variant="primary">
              Open folder
            </ButtonLink>
          )}
          {viewHref ? (
            <a href={viewHref} className={buttonClass("secondary")} target="_blank" rel="noopener noreferrer">
              Open<span className="sr-only"> in a new tab</span>
            </a>
          ) : null}
          {isOwner && !item.isRoot ? (
            <ButtonLink to={`/shares?item=${item.kind}:${item.id}`} variant="secondary">
              Share
            </ButtonLink>
          ) : null}
          {canEdit ? (
            <>
              <DialogOpener dialogId="rename">Rename</DialogOpener>
              <DialogOpener dialogId="move">Move</DialogOpener>
              <DialogOpener dialogId="copy">Copy</DialogOpener>
              <DialogOpener dialogId="trash" variant="danger">
                Move to trash
              </DialogOpener>
            </>
          ) : null}
        </div>
      </div>
    </header>
  );
}
