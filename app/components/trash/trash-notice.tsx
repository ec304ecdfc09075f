import { Link } from "@remix-run/react";

/** Where a restored item went back to, with links to it and to its folder. */
export interface RestoredItem {
  kind: "file" | "folder";
  id: string;
  name: string;
  folderId: string;
  folderName: string;
  folderIsRoot: boolean;
}

/** What the last action did (after its redirect), naming a restored item and its place. */
export function TrashNotice({ done, restored }: { done: string; restored: RestoredItem | null }) {
  return (
    <p role="status" className="rounded-md border border-success-border bg-success-soft px-3 py-2 text-sm text-success">
      {done}
      {restored ? (
        <>
          {" "}
          {restored.kind === "folder" ? (
            <Link to={`/files/${restored.id}`} className="underline">
              {restored.name}
            </Link>
          ) : (
            <Link to={`/details/file/${restored.id}`} className="underline">
              {restored.name}
            </Link>
          )}{" "}
          is back in{" "}
          <Link to={restored.folderIsRoot ? "/files" : `/files/${restored.folderId}`} className="underline">
            {restored.folderName}
          </Link>
          .
        </>
      ) : null}
    </p>
  );
}
