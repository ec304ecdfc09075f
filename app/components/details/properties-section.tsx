import { Link } from "@remix-run/react";
import { Card } from "~/components/ui/card";
import { formatBytes, formatDate } from "~/lib/format";

type Crumb = { id: string; name: string; isRoot: boolean };
type ItemProperties =
  | {
      kind: "file";
      size: number;
      mimeType: string;
      sha256: string | null;
      /** The malware scan's verdict in words; null when scanning is off and the file was never scanned. */
      malwareScan?: string | null;
      createdAt: string | Date;
      updatedAt: string | Date;
    }
  | { kind: "folder"; size: number; files: number; folders: number; createdAt: string | Date; updatedAt: string | Date };

export function PropertiesSection({ item, location }: { item: ItemProperties; location: Crumb[] }) {
  return (
    <Card title="Properties" aria-label="Properties">
      <dl className="grid grid-cols-1 gap-x-6 gap-y-2 text-sm sm:grid-cols-[max-content_1fr]">
        <dt className="font-medium text-text-muted">Type</dt>
        <dd className="break-all">{item.kind === "file" ? item.mimeType : "Folder"}</dd>
        <dt className="font-medium text-text-muted">Size</dt>
        <dd>
          {formatBytes(item.size)}
          {item.kind === "folder"
            ? ` in ${item.files} file${item.files === 1 ? "" : "s"} and ${item.folders} subfolder${item.folders === 1 ? "" : "s"}`
            : null}
        </dd>
        {item.kind === "file" ? (
          <>
            <dt className="font-medium text-text-muted">SHA-256</dt>
            <dd className="font-mono text-xs break-all">{item.sha256 ?? "Not computed (uploaded in resumable chunks)"}</dd>
            {item.malwareScan ? (
              <>
                <dt className="font-medium text-text-muted">Malware scan</dt>
                <dd data-testid="malware-scan">{item.malwareScan}</dd>
              </>
            ) : null}
          </>
        ) : null}
        <dt className="font-medium text-text-muted">Created</dt>
        <dd>{formatDate(item.createdAt)}</dd>
        <dt className="font-medium text-text-muted">Modified</dt>
        <dd>{formatDate(item.updatedAt)}</dd>
        <dt className="font-medium text-text-muted">Location</dt>
        <dd>
          {location.length > 0 ? (
            <Link to={location.at(-1)!.isRoot ? "/files" : `/files/${location.at(-1)!.id}`} className="link">
              {location.map((c) => c.name).join(" / ")}
            </Link>
          ) : (
            "Top level"
          )}
        </dd>
      </dl>
    </Card>
  );
}
