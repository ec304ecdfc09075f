/** What a folder page shows (folder-listing.server.ts builds it); the browser renders it too. */

export interface Crumb {
  id: string;
  name: string;
  isRoot: boolean;
}

export const SORT_KEYS = ["name", "size", "modified", "type"] as const;
export type SortKey = (typeof SORT_KEYS)[number];
export type SortDir = "asc" | "desc";

export interface ListedFolder {
  id: string;
  name: string;
  updatedAt: Date;
  /** A legal hold covers it (docs/retention-and-holds.md): shown as a badge. */
  held?: boolean;
}

export interface ListedFile {
  id: string;
  name: string;
  size: number;
  mimeType: string;
  updatedAt: Date;
  /** Object key of the preview thumbnail, when one was made (the grid view shows it). */
  thumbnailKey: string | null;
  /** A legal hold covers it: shown as a badge. */
  held?: boolean;
}

export interface FolderListing {
  sort: SortKey;
  dir: SortDir;
  folders: ListedFolder[];
  files: ListedFile[];
  /** Cursor for `?after=`: the page after this one, or null on the last page. */
  nextCursor: string | null;
  /** Cursor for `?before=`: the page before this one, or null on the first page. */
  prevCursor: string | null;
}

export interface FolderCounts {
  folders: number;
  files: number;
  /** True when a count reached COUNT_LIMIT and stopped there ("more than 10,000 files"). */
  capped: boolean;
}

/**
 * Counting is the one part of a listing whose cost grows with the folder, so it stops at this
 * many items of each kind: the summary then says "more than 10,000".
 */
export const COUNT_LIMIT = 10_000;

export interface TreeNode {
  id: string;
  name: string;
  isRoot: boolean;
  /** The folder on screen. */
  current: boolean;
  /** Subfolders shown (levels on the path to the current folder), or null when not expanded. */
  children: TreeNode[] | null;
  /** True when the level has more subfolders than are shown. */
  more: boolean;
}
