// Which file or folder a WebDAV path names for a user: their own tree from their top folder, and
// the items shared with them under a virtual `Shared with me` folder at the top.
import type { File as FileRecord, Folder } from "~/generated/prisma/client";
import type { Services } from "~/services/index.server";
import { NotFoundError } from "../errors";
import { getRootFolder } from "../files/folders.server";
import { nameKey } from "../files/names";
import { type Actor, getReadableItem } from "../files/operations.server";
import { listSharedWithMe, type SharedWithMe } from "../sharing/user-shares.server";

/** The name of the virtual folder holding what others shared with the user (it hides an own folder of that name). */
export const SHARED_FOLDER = "Shared with me";

export type DavTarget =
  | { kind: "folder"; folder: Folder; isRoot: boolean }
  | { kind: "file"; file: FileRecord }
  | { kind: "shared" }
  /** Nothing there. `parent`: the folder it would go in (null: the parent is missing too, or virtual). */
  | { kind: "missing"; parent: Folder | null; name: string };

/** The shares of one name under `Shared with me` (the newest wins when two have the same name). */
export function sharedByName(shares: SharedWithMe[], name: string): SharedWithMe | undefined {
  const key = nameKey(name);
  return shares.find((share) => nameKey(share.name) === key);
}

async function childNamed(services: Services, parent: Folder, name: string): Promise<DavTarget> {
  const key = nameKey(name);
  // Both at once: one round trip per segment instead of two for every file (each PUT names one).
  const [folder, file] = await Promise.all([
    services.prisma.folder.findFirst({ where: { parentId: parent.id, nameKey: key, trashedAt: null } }),
    services.prisma.file.findFirst({ where: { folderId: parent.id, nameKey: key, trashedAt: null } }),
  ]);
  if (folder) return { kind: "folder", folder, isRoot: false };
  if (file) return { kind: "file", file };
  return { kind: "missing", parent, name };
}

/**
 * Resolves decoded path segments (already split, none empty) for `user`. Items of others are
 * reached only through `Shared with me` and checked with the pages' access rules.
 */
export async function resolveDavPath(services: Services, user: Actor, segments: string[]): Promise<DavTarget> {
  const root = await getRootFolder(services, user.id);
  if (segments.length === 0) return { kind: "folder", folder: root, isRoot: true };
  let current: DavTarget;
  let rest: string[];
  if (segments[0] === SHARED_FOLDER) {
    if (segments.length === 1) return { kind: "shared" };
    const share = sharedByName(await listSharedWithMe(services, user), segments[1]!);
    if (!share) return { kind: "missing", parent: null, name: segments[1]! };
    const item = await getReadableItem(services, user, share.kind, share.itemId);
    current = item.kind === "file" ? { kind: "file", file: item.file } : { kind: "folder", folder: item.folder, isRoot: false };
    rest = segments.slice(2);
  } else {
    current = { kind: "folder", folder: root, isRoot: true };
    rest = segments;
  }
  for (const segment of rest) {
    if (current.kind !== "folder") return { kind: "missing", parent: null, name: segment };
    current = await childNamed(services, current.folder, segment);
  }
  // Another user's item (below a share) is checked like the pages check it.
  if (current.kind === "file" && current.file.ownerId !== user.id) await getReadableItem(services, user, "file", current.file.id);
  if (current.kind === "folder" && current.folder.ownerId !== user.id) await getReadableItem(services, user, "folder", current.folder.id);
  if (current.kind === "missing" && current.parent && current.parent.ownerId !== user.id) {
    await getReadableItem(services, user, "folder", current.parent.id);
  }
  return current;
}

/** Like resolveDavPath, but a path that names nothing is a 404. */
export async function existingDavTarget(services: Services, user: Actor, segments: string[]) {
  const target = await resolveDavPath(services, user, segments);
  if (target.kind === "missing") throw new NotFoundError("That item");
  return target;
}
