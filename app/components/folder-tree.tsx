import { Link } from "@remix-run/react";
import type { TreeNode } from "~/domain/files/folder-listing";
import { dropHighlight, useDragMove } from "./drag-move";
import { FolderIcon } from "./icons";

const folderHref = (node: Pick<TreeNode, "id" | "isRoot">) => (node.isRoot ? "/files" : `/files/${node.id}`);

/**
 * The folder tree: nested lists of links in a navigation landmark (no ARIA tree widget, so it
 * needs no JavaScript and reads like any list of links). The path to the current folder is
 * expanded; the current folder is marked with aria-current.
 */
export function FolderTree({ tree, label = "Folder tree" }: { tree: TreeNode; label?: string }) {
  return (
    <nav aria-label={label} className="text-sm">
      <ul>
        <TreeItem node={tree} />
      </ul>
    </nav>
  );
}

function TreeItem({ node }: { node: TreeNode }) {
  // With JavaScript, items dragged from the listing can be dropped on any folder of the tree.
  const drag = useDragMove();
  return (
    <li>
      <Link
        to={folderHref(node)}
        aria-current={node.current ? "page" : undefined}
        className={`flex min-w-0 items-center gap-2 rounded px-2 py-1.5 ${
          node.current ? "bg-accent-soft font-semibold text-text" : "text-text hover:bg-surface-hover"
        } ${dropHighlight(!!drag?.isOver(node.id))}`}
        {...drag?.dropTarget(node.id, node.name)}
      >
        <FolderIcon className="h-4 w-4 text-warning" />
        <span className="truncate" title={node.name}>
          {node.name}
        </span>
      </Link>
      {node.children && (node.children.length > 0 || node.more) ? (
        <ul className="ml-3 border-l border-border pl-2">
          {node.children.map((child) => (
            <TreeItem key={child.id} node={child} />
          ))}
          {node.more ? (
            <li>
              <Link to={folderHref(node)} className="block px-2 py-1.5 text-accent-text hover:underline">
                more…<span className="sr-only">{` folders in ${node.name}`}</span>
              </Link>
            </li>
          ) : null}
        </ul>
      ) : null}
    </li>
  );
}
