import { Link } from "@remix-run/react";
import { FileIcon, FolderIcon } from "~/components/icons";

type Crumb = { id: string; name: string; isRoot: boolean };

/** The folders above the item, each a link (left out at the top level). */
export function LocationNav({ location }: { location: Crumb[] }) {
  if (location.length === 0) return null;
  return (
    <nav aria-label="Location">
      <ol className="flex flex-wrap items-center gap-1 text-sm text-slate-600">
        {location.map((crumb, index) => (
          <li key={crumb.id} className="flex items-center gap-1">
            {index > 0 ? <span aria-hidden="true">/</span> : null}
            <Link to={crumb.isRoot ? "/files" : `/files/${crumb.id}`} className="text-blue-800 hover:underline">
              {crumb.name}
            </Link>
          </li>
        ))}
      </ol>
    </nav>
  );
}

/** The item's icon or thumbnail, its name, and a link to download the file or open the folder. */
export function DetailsHeading({
  item,
  openHref,
}: {
  item: { kind: "file" | "folder"; name: string; thumbnail: string | null };
  openHref: string;
}) {
  return (
    <div className="flex flex-wrap items-center gap-3">
      {item.thumbnail ? (
        <img src={item.thumbnail} alt="" className="h-10 w-10 rounded bg-slate-50 object-cover" data-testid="details-thumbnail" />
      ) : item.kind === "file" ? (
        <FileIcon className="h-7 w-7 text-slate-500" />
      ) : (
        <FolderIcon className="h-7 w-7 text-amber-500" />
      )}
      <h1 className="text-2xl font-semibold break-all">{item.name}</h1>
      <a href={openHref} className="btn-secondary" {...(item.kind === "file" ? { download: true } : {})}>
        {item.kind === "file" ? "Download" : "Open folder"}
      </a>
    </div>
  );
}
