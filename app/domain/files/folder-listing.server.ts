// One page of a folder's contents, paged by key in the chosen order, and its item counts.
import { type Folder, Prisma } from "~/generated/prisma/client";
import type { Services } from "~/services/index.server";
import { inSpan } from "~/services/tracing/spans.server";
import { COUNT_LIMIT, type FolderCounts, type FolderListing, SORT_KEYS, type SortDir, type SortKey } from "./folder-listing";
import { coveredItemIds } from "./holds.server";

export const PAGE_SIZE = 200;

/** `?sort=`; anything unknown means the default (name). */
export function parseSort(value: string | null | undefined): SortKey {
  return (SORT_KEYS as readonly string[]).includes(value ?? "") ? (value as SortKey) : "name";
}

/** `?dir=`; anything unknown means ascending. */
export function parseDir(value: string | null | undefined): SortDir {
  return value === "desc" ? "desc" : "asc";
}

export interface ListOptions {
  sort?: SortKey;
  dir?: SortDir;
  /** A cursor from `prevCursor`: list the page that ends just before it. Wins over `after`. */
  before?: string | null;
  pageSize?: number;
}

type Kind = "folder" | "file";

/** A place in the listing order: what the cursors encode. */
interface Position {
  kind: Kind;
  /** The sort column's value (null when sorting by name: the name key is the value). */
  value: string | null;
  key: string;
  id: string;
}

interface Row extends Position {
  name: string;
  size: bigint | null;
  mimeType: string | null;
  updatedAt: Date;
  thumbnailKey: string | null;
}

/**
 * The ordering of each kind for a sort: a leading column (or none: by name), then the name key,
 * then the id, all in the same direction. A descending listing is exactly the ascending one
 * reversed, so one composite comparison `(col, name_key, id) > (…)` positions a cursor, the
 * index on (folder_id, col) serves both directions, and "previous page" is the same query run
 * the other way. Folders are always listed before files: by name, or by modified date when the
 * listing is sorted by modified date; size and type do not apply to folders (name, ascending).
 */
function ordering(kind: Kind, sort: SortKey, dir: SortDir): { column: "size" | "updated_at" | "mime_type" | null; dir: SortDir } {
  if (kind === "folder") {
    if (sort === "modified") return { column: "updated_at", dir };
    return { column: null, dir: sort === "name" ? dir : "asc" };
  }
  const column = sort === "size" ? "size" : sort === "modified" ? "updated_at" : sort === "type" ? "mime_type" : null;
  return { column, dir };
}

function castValue(column: "size" | "updated_at" | "mime_type", value: string): Prisma.Sql {
  if (column === "size") return Prisma.sql`${value}::bigint`;
  if (column === "updated_at") return Prisma.sql`${value}::timestamp(3)`;
  return Prisma.sql`${value}`;
}

/**
 * One kind's page query: rows strictly after `from` in the listing order (null: from the start),
 * at most `limit`; with `reverse`, rows strictly before `from`, nearest first. Exported so tests
 * and the benchmark can EXPLAIN it.
 */
export function listingQuery(
  kind: Kind,
  parentId: string,
  sort: SortKey,
  dir: SortDir,
  from: Position | null,
  limit: number,
  reverse = false,
): Prisma.Sql {
  const order = ordering(kind, sort, dir);
  const ascending = (order.dir === "asc") !== reverse;
  const direction = Prisma.raw(ascending ? "ASC" : "DESC");
  const comparison = Prisma.raw(ascending ? ">" : "<");
  const column = order.column ? Prisma.raw(order.column) : null;
  let where = Prisma.empty;
  if (from && from.kind === kind) {
    if (column && from.value !== null) {
      where = Prisma.sql`AND (${column}, name_key, id) ${comparison} (${castValue(order.column!, from.value)}, ${from.key}, ${from.id})`;
    } else if (!column) {
      where = Prisma.sql`AND (name_key, id) ${comparison} (${from.key}, ${from.id})`;
    }
  }
  const orderBy = column
    ? Prisma.sql`ORDER BY ${column} ${direction}, name_key ${direction}, id ${direction}`
    : Prisma.sql`ORDER BY name_key ${direction}, id ${direction}`;
  if (kind === "folder") {
    return Prisma.sql`
      SELECT id, name, name_key, updated_at, NULL::bigint AS size, NULL::text AS mime_type, NULL::text AS thumbnail_key
      FROM folders WHERE parent_id = ${parentId} AND trashed_at IS NULL ${where}
      ${orderBy} LIMIT ${limit}`;
  }
  return Prisma.sql`
    SELECT id, name, name_key, updated_at, size, mime_type, thumbnail_key
    FROM files WHERE folder_id = ${parentId} AND trashed_at IS NULL ${where}
    ${orderBy} LIMIT ${limit}`;
}

type RawRow = {
  id: string;
  name: string;
  name_key: string;
  updated_at: Date;
  size: bigint | null;
  mime_type: string | null;
  thumbnail_key: string | null;
};

async function fetchKind(
  services: Services,
  kind: Kind,
  parentId: string,
  sort: SortKey,
  dir: SortDir,
  from: Position | null,
  limit: number,
  reverse = false,
): Promise<Row[]> {
  if (limit <= 0) return [];
  const rows = await services.prisma.$queryRaw<RawRow[]>(listingQuery(kind, parentId, sort, dir, from, limit, reverse));
  const { column } = ordering(kind, sort, dir);
  return rows.map((row) => ({
    kind,
    id: row.id,
    key: row.name_key,
    value:
      column === "size"
        ? String(row.size)
        : column === "updated_at"
          ? new Date(row.updated_at).toISOString()
          : column === "mime_type"
            ? row.mime_type
            : null,
    name: row.name,
    size: row.size === null ? null : BigInt(row.size),
    mimeType: row.mime_type,
    updatedAt: new Date(row.updated_at),
    thumbnailKey: row.thumbnail_key,
  }));
}

/** Up to `limit` items after `from` in listing order (folders, then files). */
async function forward(
  services: Services,
  parentId: string,
  sort: SortKey,
  dir: SortDir,
  from: Position | null,
  limit: number,
): Promise<Row[]> {
  const folders = from?.kind === "file" ? [] : await fetchKind(services, "folder", parentId, sort, dir, from, limit);
  const files = await fetchKind(services, "file", parentId, sort, dir, from?.kind === "file" ? from : null, limit - folders.length);
  return [...folders, ...files];
}

/** Up to `limit` items before `from`, nearest first (files backwards, then folders backwards). */
async function backward(services: Services, parentId: string, sort: SortKey, dir: SortDir, from: Position, limit: number): Promise<Row[]> {
  const files = from.kind === "file" ? await fetchKind(services, "file", parentId, sort, dir, from, limit, true) : [];
  const folders = await fetchKind(
    services,
    "folder",
    parentId,
    sort,
    dir,
    from.kind === "folder" ? from : null,
    limit - files.length,
    true,
  );
  return [...files, ...folders];
}

/**
 * One page of a folder: subfolders first, then files, in the chosen order. Both are paged by
 * key (sort value, name key, id) — never by offset — so a folder of 100,000 files (or
 * subfolders) opens as fast as one of ten, and each query walks the index on
 * (folder_id, sort column). `cursor` is the `after` cursor of the page before; bad or foreign
 * cursors (another sort, garbage) are ignored and give the first page.
 */
export function listFolder(...args: Parameters<typeof listFolderPage>): Promise<FolderListing> {
  return inSpan("folder.list", { "folder.sort": args[3]?.sort ?? "name" }, () => listFolderPage(...args));
}

async function listFolderPage(
  services: Services,
  folder: Folder,
  cursor: string | null,
  options: ListOptions = {},
): Promise<FolderListing> {
  const sort = options.sort ?? "name";
  const dir = options.dir ?? "asc";
  const pageSize = options.pageSize ?? PAGE_SIZE;
  const before = decodeCursor(options.before ?? null, sort, dir);
  const after = before ? null : decodeCursor(cursor, sort, dir);

  let page: Row[];
  let hasPrevious: boolean;
  let hasNext: boolean;
  const earlier = before ? await backward(services, folder.id, sort, dir, before, pageSize + 1) : null;
  if (earlier && earlier.length > pageSize) {
    page = earlier.slice(0, pageSize).reverse();
    hasPrevious = true;
    hasNext = true;
  } else {
    // Forward from the cursor; a `before` that reaches the start is simply the first page.
    const rows = await forward(services, folder.id, sort, dir, after, pageSize + 1);
    page = rows.slice(0, pageSize);
    hasPrevious = after !== null;
    hasNext = rows.length > pageSize;
  }
  const first = page.at(0);
  const last = page.at(-1);
  const held = await coveredItemIds(
    services.prisma,
    page.filter((row) => row.kind === "file").map((row) => row.id),
    page.filter((row) => row.kind === "folder").map((row) => row.id),
  );
  return {
    sort,
    dir,
    folders: page
      .filter((row) => row.kind === "folder")
      .map(({ id, name, updatedAt }) => ({ id, name, updatedAt, ...(held.has(id) ? { held: true } : {}) })),
    files: page
      .filter((row) => row.kind === "file")
      .map(({ id, name, size, mimeType, updatedAt, thumbnailKey }) => ({
        id,
        name,
        size: Number(size ?? 0n),
        mimeType: mimeType ?? "application/octet-stream",
        updatedAt,
        thumbnailKey,
        ...(held.has(id) ? { held: true } : {}),
      })),
    nextCursor: hasNext && last ? encodeCursor(sort, dir, last) : null,
    prevCursor: hasPrevious && first ? encodeCursor(sort, dir, first) : null,
  };
}

function encodeCursor(sort: SortKey, dir: SortDir, position: Position): string {
  return Buffer.from(JSON.stringify([sort, dir, position.kind, position.value, position.key, position.id])).toString("base64url");
}

/** The position a cursor encodes, or null when it is missing, malformed or from another order. */
export function decodeCursor(cursor: string | null, sort: SortKey, dir: SortDir): Position | null {
  if (!cursor || cursor.length > 4096) return null;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (!Array.isArray(parsed) || parsed.length !== 6) return null;
    const [cursorSort, cursorDir, kind, value, key, id] = parsed as unknown[];
    if (cursorSort !== sort || cursorDir !== dir) return null;
    if ((kind !== "folder" && kind !== "file") || typeof key !== "string" || typeof id !== "string") return null;
    const { column } = ordering(kind, sort, dir);
    if (column === null) return value === null ? { kind, value: null, key, id } : null;
    if (typeof value !== "string") return null;
    if (column === "size" && !/^\d{1,19}$/.test(value)) return null;
    if (column === "updated_at" && (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(value) || Number.isNaN(Date.parse(value))))
      return null;
    return { kind, value, key, id };
  } catch {
    return null;
  }
}

/** How many subfolders and files (not in the trash) a folder holds, for the summary line. */
export async function countFolderContents(services: Services, folderId: string): Promise<FolderCounts> {
  const [row] = await services.prisma.$queryRaw<Array<{ folders: bigint; files: bigint }>>`
    SELECT (SELECT count(*) FROM (SELECT 1 FROM folders WHERE parent_id = ${folderId} AND trashed_at IS NULL LIMIT ${
      COUNT_LIMIT + 1
    }) f) AS folders,
           (SELECT count(*) FROM (SELECT 1 FROM files WHERE folder_id = ${folderId} AND trashed_at IS NULL LIMIT ${
             COUNT_LIMIT + 1
           }) f) AS files`;
  const folders = Number(row?.folders ?? 0);
  const files = Number(row?.files ?? 0);
  return {
    folders: Math.min(folders, COUNT_LIMIT),
    files: Math.min(files, COUNT_LIMIT),
    capped: folders > COUNT_LIMIT || files > COUNT_LIMIT,
  };
}

/** Most files a folder's size adds up; past it, the page says "at least". */
export const SIZE_FILE_LIMIT = 10_000;

/**
 * The bytes of a folder's live files, its subfolders' included (current contents only: not
 * versions, not the trash), and whether that is only part of it. One bounded statement: the
 * subtree's live folders (depth-bounded like the other tree walks, at most SIZE_FILE_LIMIT + 1 of
 * them), each read by an index scan of files_live_size_listing, stopping after SIZE_FILE_LIMIT + 1
 * files: a folder of 100,000 files costs what one of 10,000 does (summing every file took seconds
 * there; an exact figure for huge trees would need a maintained aggregate).
 */
export async function folderSize(services: Services, folderId: string): Promise<{ bytes: number; capped: boolean }> {
  const [row] = await services.prisma.$queryRaw<Array<{ bytes: bigint; files: bigint }>>`
    WITH RECURSIVE tree AS (
      SELECT id, 0 AS depth FROM folders WHERE id = ${folderId}
      UNION ALL
      SELECT f.id, tree.depth + 1 FROM folders f JOIN tree ON f.parent_id = tree.id
      WHERE f.trashed_at IS NULL AND tree.depth < 1000
    ),
    sample AS (
      SELECT s.size FROM (SELECT id FROM tree LIMIT ${SIZE_FILE_LIMIT + 1}) t
      CROSS JOIN LATERAL (SELECT size FROM files WHERE folder_id = t.id AND trashed_at IS NULL) s
      LIMIT ${SIZE_FILE_LIMIT + 1}
    )
    SELECT COALESCE(SUM(size), 0)::bigint AS bytes, count(*) AS files FROM sample`;
  return { bytes: Number(row!.bytes), capped: Number(row!.files) > SIZE_FILE_LIMIT };
}
