import { Link } from "@remix-run/react";
import { formatBytes, formatDate } from "~/lib/format";

type Crumb = { id: string; name: string; isRoot: boolean };
type ItemProperties =
  | { kind: "file"; size: number; mimeType: string; sha256: string | null; createdAt: string | Date; updatedAt: string | Date }
  | { kind: "folder"; size: number; files: number; folders: number; createdAt: string | Date; updatedAt: string | Date };

export function PropertiesSection({ item, location }: { item: ItemProperties; location: Crumb[] }) {
  return (
    <section aria-labelledby="properties-heading" className="card p-4">
      <h2 id="properties-heading" className="text-lg font-semibold">
        Properties
      </h2>
      <dl className="mt-3 grid grid-cols-1 gap-x-6 gap-y-2 text-sm sm:grid-cols-[max-content_1fr]">
        <dt className="font-medium text-slate-700">Type</dt>
        <dd>{item.kind === "file" ? item.mimeType : "Folder"}</dd>
        <dt className="font-medium text-slate-700">Size</dt>
        <dd>
          {formatBytes(item.size)}
          {item.kind === "folder"
            ? ` in ${item.files} file${item.files === 1 ? "" : "s"} and ${item.folders} subfolder${item.folders === 1 ? "" : "s"}`
            : null}
        </dd>
        {item.kind === "file" ? (
          <>
            <dt className="font-medium text-slate-700">SHA-256</dt>
            <dd className="font-mono text-xs break-all">{item.sha256 ?? "Not computed (uploaded in resumable chunks)"}</dd>
          </>
        ) : null}
        <dt className="font-medium text-slate-700">Created</dt>
        <dd>{formatDate(item.createdAt)}</dd>
        <dt className="font-medium text-slate-700">Modified</dt>
        <dd>{formatDate(item.updatedAt)}</dd>
        <dt className="font-medium text-slate-700">Location</dt>
        <dd>
          {location.length > 0 ? (
            <Link to={location.at(-1)!.isRoot ? "/files" : `/files/${location.at(-1)!.id}`} className="text-blue-800 hover:underline">
              {location.map((c) => c.name).join(" / ")}
            </Link>
          ) : (
            "Top level"
          )}
        </dd>
      </dl>
    </section>
  );
}
