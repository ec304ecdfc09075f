import type { Services } from "~/services/index.server";
import { ValidationError } from "../errors";
import { breadcrumbs } from "./folder-tree.server";
import type { ItemKind } from "./operations.server";
import type { SessionUser } from "../accounts/sessions.server";
import { countActiveShareLinks } from "../sharing/share-link-listing.server";
import { visibleCrumbs } from "../sharing/user-shares.server";
import { restoreVersion } from "./versions.server";

type Actor = Pick<SessionUser, "id" | "role">;

/**
 * What the details page of a file or folder shows beyond the item itself: where it is, how it is
 * shared, what a folder holds. Access to the item is checked by the caller (getReadableItem).
 */

/** The crumbs down to the item's parent folder; someone it was shared with sees them from the shared folder down only. */
export async function itemLocation(services: Services, user: Actor, parentId: string | null) {
  const parent = parentId ? await services.prisma.folder.findUnique({ where: { id: parentId } }) : null;
  return parent ? await visibleCrumbs(services, user, parent.ownerId, await breadcrumbs(services, parent), "none") : [];
}

/** Active public links and people the item is shared with (read-only here). */
export async function sharingSummary(services: Services, kind: ItemKind, id: string): Promise<{ links: number; people: number }> {
  const [links, people] = await Promise.all([
    countActiveShareLinks(services, { kind, id }),
    services.prisma.userShare.count({ where: kind === "file" ? { fileId: id } : { folderId: id } }),
  ]);
  return { links, people };
}

/** Subfolders, files and bytes below a folder, at any depth, leaving out what is in the trash. */
export async function folderTotals(services: Services, folderId: string): Promise<{ folders: number; files: number; size: number }> {
  const [row] = await services.prisma.$queryRaw<Array<{ folders: number; files: number; size: string | null }>>`
    WITH RECURSIVE sub AS (
      SELECT id FROM folders WHERE id = ${folderId}
      UNION ALL
      SELECT f.id FROM folders f JOIN sub ON f.parent_id = sub.id WHERE f.trashed_at IS NULL
    )
    SELECT (SELECT count(*)::int - 1 FROM sub) AS folders,
           count(files.id)::int AS files,
           sum(files.size)::text AS size
    FROM files WHERE files.folder_id IN (SELECT id FROM sub) AND files.trashed_at IS NULL`;
  return { folders: row?.folders ?? 0, files: row?.files ?? 0, size: Number(row?.size ?? 0) };
}

/** Restores a version from the file's own page: a version of any other file is "not found". */
export async function restoreVersionOfFile(services: Services, user: Actor, fileId: string, versionId: string): Promise<void> {
  const version = await services.prisma.fileVersion.findUnique({ where: { id: versionId }, select: { fileId: true } });
  if (!version || version.fileId !== fileId) throw new ValidationError("That version was not found. It may have been removed.");
  await restoreVersion(services, user, versionId);
}
