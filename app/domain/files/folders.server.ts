import type { Services } from "~/services/index.server";
import { Prisma, type Folder } from "~/generated/prisma/client";
import { assertCanRead, assertCanWrite } from "../sharing/access.server";
import { recordActivity } from "../audit/activity.server";
import { ConflictError, NotFoundError } from "../errors";
import { cleanName, nameKey } from "./names";
import {
  COUNT_LIMIT,
  SORT_KEYS,
  type Crumb,
  type FolderCounts,
  type FolderListing,
  type SortDir,
  type SortKey,
  type TreeNode,
} from "./folder-listing";
import type { SessionUser } from "../accounts/sessions.server";

type Actor = Pick<SessionUser, "id" | "role">;

export const PAGE_SIZE = 200;

export async function getRootFolder(services: Services, ownerId: string): Promise<Folder> {
  const root = await services.prisma.folder.findFirst({ where: { ownerId, parentId: null } });
  if (root) return root;
  // Accounts get a root at registration; recreate it if it was ever lost.
  try {
    return await services.prisma.folder.create({ data: { ownerId, parentId: null, name: "", nameKey: "" } });
  } catch {
    return services.prisma.folder.findFirstOrThrow({ where: { ownerId, parentId: null } });
  }
}

/** A folder by id, for a caller that has checked access (a share link's chain); throws when it is gone. */
export function folderById(services: Services, folderId: string): Promise<Folder> {
  return services.prisma.folder.findUniqueOrThrow({ where: { id: folderId } });
}

/** The folder when the actor may read it; NotFound otherwise (never reveal what exists). */
export async function getReadableFolder(services: Services, actor: Actor, folderId: string | null): Promise<Folder> {
  if (folderId === null) return getRootFolder(services, actor.id);
  const folder = await services.prisma.folder.findUnique({ where: { id: folderId } });
  if (!folder || folder.trashedAt) throw new NotFoundError("That folder");
  await assertCanRead(services, actor, { kind: "folder", id: folder.id, ownerId: folder.ownerId }, "That folder");
  return folder;
}

export async function getWritableFolder(services: Services, actor: Actor, folderId: string | null): Promise<Folder> {
  const folder = await getReadableFolder(services, actor, folderId);
  // Readable but not writable: say why rather than pretend it is not there.
  await assertCanWrite(services, actor, { kind: "folder", id: folder.id, ownerId: folder.ownerId });
  return folder;
}

/** Root first, the folder itself last. */
export async function breadcrumbs(services: Services, folder: Folder): Promise<Crumb[]> {
  const rows = await services.prisma.$queryRaw<Array<{ id: string; name: string; parent_id: string | null; depth: number }>>`
    WITH RECURSIVE chain AS (
      SELECT id, name, parent_id, 0 AS depth FROM folders WHERE id = ${folder.id}
      UNION ALL
      SELECT f.id, f.name, f.parent_id, chain.depth + 1 FROM folders f JOIN chain ON f.id = chain.parent_id
      WHERE chain.depth < 1000
    )
    SELECT id, name, parent_id, depth FROM chain ORDER BY depth DESC`;
  return rows.map((row) => ({ id: row.id, name: row.parent_id === null ? "My files" : row.name, isRoot: row.parent_id === null }));
}

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
export async function listFolder(
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
  return {
    sort,
    dir,
    folders: page.filter((row) => row.kind === "folder").map(({ id, name, updatedAt }) => ({ id, name, updatedAt })),
    files: page
      .filter((row) => row.kind === "file")
      .map(({ id, name, size, mimeType, updatedAt, thumbnailKey }) => ({
        id,
        name,
        size: Number(size ?? 0n),
        mimeType: mimeType ?? "application/octet-stream",
        updatedAt,
        thumbnailKey,
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

/** Subfolders shown per level of the folder tree; a "more…" link leads to the rest. */
export const TREE_LEVEL_LIMIT = 100;

/**
 * The sidebar tree: the root, and every folder on the path to the current one expanded with its
 * subfolders (by name, at most TREE_LEVEL_LIMIT a level, the path always among them). The
 * current folder is not expanded: its subfolders are the listing next to the tree.
 */
export async function folderTree(services: Services, crumbs: Crumb[]): Promise<TreeNode | null> {
  if (crumbs.length === 0) return null;
  const expanded = crumbs.slice(0, -1).map((crumb) => crumb.id);
  const rows =
    expanded.length === 0
      ? []
      : await services.prisma.$queryRaw<Array<{ parent_id: string; id: string; name: string }>>`
          SELECT c.parent_id, c.id, c.name
          FROM unnest(${expanded}::text[]) WITH ORDINALITY AS p(id, n)
          CROSS JOIN LATERAL (
            SELECT id, name, parent_id FROM folders
            WHERE parent_id = p.id AND trashed_at IS NULL
            ORDER BY name_key, id LIMIT ${TREE_LEVEL_LIMIT + 1}
          ) c
          ORDER BY p.n`;
  const byParent = new Map<string, Array<{ id: string; name: string }>>();
  for (const row of rows) {
    const list = byParent.get(row.parent_id) ?? [];
    list.push({ id: row.id, name: row.name });
    byParent.set(row.parent_id, list);
  }
  const build = (index: number): TreeNode => {
    const crumb = crumbs[index]!;
    const isCurrent = index === crumbs.length - 1;
    if (isCurrent) return { id: crumb.id, name: crumb.name, isRoot: crumb.isRoot, current: true, children: null, more: false };
    const next = crumbs[index + 1]!;
    const all = byParent.get(crumb.id) ?? [];
    const shown = all.slice(0, TREE_LEVEL_LIMIT);
    // The path continues through `next`: keep it visible even past the cap.
    if (!shown.some((child) => child.id === next.id)) shown.push({ id: next.id, name: next.name });
    return {
      id: crumb.id,
      name: crumb.name,
      isRoot: crumb.isRoot,
      current: false,
      more: all.length > TREE_LEVEL_LIMIT,
      children: shown.map((child) =>
        child.id === next.id
          ? build(index + 1)
          : { id: child.id, name: child.name, isRoot: false, current: false, children: null, more: false },
      ),
    };
  };
  return build(0);
}

/** Throws Conflict when a file or folder of that name (case-insensitively) is already there. */
export async function assertNameFree(services: Services, parentId: string, name: string): Promise<void> {
  const key = nameKey(name);
  const [folder, file] = await Promise.all([
    services.prisma.folder.findFirst({ where: { parentId, nameKey: key, trashedAt: null }, select: { id: true } }),
    services.prisma.file.findFirst({ where: { folderId: parentId, nameKey: key, trashedAt: null }, select: { id: true } }),
  ]);
  if (folder || file) {
    throw new ConflictError(`"${name}" already exists in this folder. Choose another name.`, {
      name: `"${name}" already exists here.`,
    });
  }
}

export async function createFolder(services: Services, actor: Actor, parentId: string | null, rawName: string) {
  const parent = await getWritableFolder(services, actor, parentId);
  const name = cleanName(rawName, "Folder name");
  await assertNameFree(services, parent.id, name);
  try {
    const folder = await services.prisma.folder.create({
      data: { ownerId: parent.ownerId, parentId: parent.id, name, nameKey: nameKey(name) },
    });
    await services.search.upsert([
      {
        id: folder.id,
        ownerId: folder.ownerId,
        kind: "folder",
        name: folder.name,
        folderId: parent.id,
        mimeType: null,
        size: null,
        updatedAt: folder.updatedAt,
      },
    ]);
    services.notifier.toUser(folder.ownerId, { type: "folder:changed", folderId: parent.id });
    await recordActivity(services.prisma, {
      userId: actor.id,
      action: "folder.created",
      subjectType: "folder",
      subjectId: folder.id,
      details: { name: folder.name, folderId: parent.id },
    });
    return folder;
  } catch (error) {
    if ((error as { code?: string }).code === "P2002") {
      throw new ConflictError(`"${name}" already exists in this folder. Choose another name.`, { name: `"${name}" already exists here.` });
    }
    throw error;
  }
}

/** Most folders a destination picker lists; the page says when there are more. */
export const DESTINATION_PICKER_LIMIT = 1000;

/**
 * The owner's live folders as move/copy destinations, labelled by path ("My files / Projects /
 * 2026"), in path order. `excludeId` leaves out a folder and everything under it (a folder
 * cannot move into itself).
 */
export async function destinationFolders(services: Services, ownerId: string, excludeId: string | null = null) {
  const rows = await services.prisma.$queryRaw<Array<{ id: string; names: string[]; depth: number }>>`
    WITH RECURSIVE tree AS (
      SELECT id, ARRAY[]::text[] AS keys, ARRAY[]::text[] AS names, 0 AS depth
      FROM folders WHERE owner_id = ${ownerId} AND parent_id IS NULL
      UNION ALL
      SELECT f.id, tree.keys || f.name_key, tree.names || f.name, tree.depth + 1
      FROM folders f JOIN tree ON f.parent_id = tree.id
      WHERE f.trashed_at IS NULL AND f.id <> ${excludeId ?? ""} AND tree.depth < 100
    )
    SELECT id, names, depth FROM tree ORDER BY keys LIMIT ${DESTINATION_PICKER_LIMIT + 1}`;
  return {
    folders: rows.slice(0, DESTINATION_PICKER_LIMIT).map((row) => ({
      id: row.id,
      label: ["My files", ...row.names].join(" / "),
      depth: row.depth,
    })),
    truncated: rows.length > DESTINATION_PICKER_LIMIT,
  };
}
