// Where a folder sits in its owner's tree: breadcrumbs, the sidebar tree, destination pickers.
import type { Folder } from "~/generated/prisma/client";
import type { Services } from "~/services/index.server";
import type { Crumb, TreeNode } from "./folder-listing";

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

/** The breadcrumbs of several folders in one statement, by folder id, with each folder's owner. */
export async function breadcrumbsOf(services: Services, folderIds: string[]): Promise<Map<string, { ownerId: string; crumbs: Crumb[] }>> {
  const result = new Map<string, { ownerId: string; crumbs: Crumb[] }>();
  const unique = [...new Set(folderIds)];
  if (unique.length === 0) return result;
  const rows = await services.prisma.$queryRaw<
    Array<{ start: string; id: string; name: string; parent_id: string | null; owner_id: string; depth: number }>
  >`
    WITH RECURSIVE chain AS (
      SELECT id AS start, id, name, parent_id, owner_id, 0 AS depth FROM folders WHERE id = ANY(${unique}::text[])
      UNION ALL
      SELECT chain.start, f.id, f.name, f.parent_id, f.owner_id, chain.depth + 1 FROM folders f JOIN chain ON f.id = chain.parent_id
      WHERE chain.depth < 1000
    )
    SELECT start, id, name, parent_id, owner_id, depth FROM chain ORDER BY start, depth DESC`;
  for (const row of rows) {
    let entry = result.get(row.start);
    if (!entry) {
      entry = { ownerId: row.owner_id, crumbs: [] };
      result.set(row.start, entry);
    }
    entry.crumbs.push({ id: row.id, name: row.parent_id === null ? "My files" : row.name, isRoot: row.parent_id === null });
  }
  return result;
}

/** Subfolders shown per level of the folder tree; a "more…" link leads to the rest. */
export const TREE_LEVEL_LIMIT = 100;

/**
 * The sidebar tree: the root, and every folder on the path to the current one expanded with its
 * subfolders (by name, at most TREE_LEVEL_LIMIT a level, the path always among them). A current
 * subfolder is not expanded (its subfolders are the listing next to the tree); the root always is,
 * so the tree is never a lone "My files".
 */
export async function folderTree(services: Services, crumbs: Crumb[]): Promise<TreeNode | null> {
  if (crumbs.length === 0) return null;
  const expanded = crumbs.length === 1 ? [crumbs[0]!.id] : crumbs.slice(0, -1).map((crumb) => crumb.id);
  const rows = await services.prisma.$queryRaw<Array<{ parent_id: string; id: string; name: string }>>`
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
  const leaf = (child: { id: string; name: string }): TreeNode => ({
    id: child.id,
    name: child.name,
    isRoot: false,
    current: false,
    children: null,
    more: false,
  });
  const build = (index: number): TreeNode => {
    const crumb = crumbs[index]!;
    const isCurrent = index === crumbs.length - 1;
    if (isCurrent && index === 0) {
      const all = byParent.get(crumb.id) ?? [];
      return {
        id: crumb.id,
        name: crumb.name,
        isRoot: crumb.isRoot,
        current: true,
        more: all.length > TREE_LEVEL_LIMIT,
        children: all.slice(0, TREE_LEVEL_LIMIT).map(leaf),
      };
    }
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
      children: shown.map((child) => (child.id === next.id ? build(index + 1) : leaf(child))),
    };
  };
  return build(0);
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
