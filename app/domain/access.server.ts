import type { Prisma } from "~/generated/prisma/client";
import type { Services } from "~/services/index.server";
import type { SessionUser } from "./sessions.server";

type Actor = Pick<SessionUser, "id" | "role">;

/** What an access check is about: a folder, or a file (with the folder it sits in). */
export type AccessTarget =
  | { kind: "folder"; id: string; ownerId: string }
  | { kind: "file"; id: string; ownerId: string; folderId: string };

export type Grant = "READ" | "WRITE";

/**
 * User shares that grant access now: those of owners whose account is active. A deactivated
 * owner's shares are kept (they work again on reactivation) but grant nothing meanwhile, as if
 * revoked. Lists of shared items filter with this; access checks go through shareGrant.
 */
export const LIVE_USER_SHARE = { owner: { deactivatedAt: null } } satisfies Prisma.UserShareWhereInput;

/**
 * The strongest share grant the user holds on the target: a grant on the file itself, or on
 * its folder or any folder above it (a folder grant covers the whole subtree), from an owner
 * whose account is active (LIVE_USER_SHARE). Null: none.
 */
export async function shareGrant(services: Services, user: Pick<SessionUser, "id">, target: AccessTarget): Promise<Grant | null> {
  const startFolderId = target.kind === "folder" ? target.id : target.folderId;
  const fileId = target.kind === "file" ? target.id : null;
  const rows = await services.prisma.$queryRaw<Array<{ permission: string }>>`
    WITH RECURSIVE chain AS (
      SELECT id, parent_id, 0 AS depth FROM folders WHERE id = ${startFolderId}
      UNION ALL
      SELECT f.id, f.parent_id, chain.depth + 1 FROM folders f JOIN chain ON f.id = chain.parent_id
      WHERE chain.depth < 1000
    )
    SELECT permission::text AS permission FROM user_shares
    WHERE grantee_id = ${user.id}
      AND owner_id = ${target.ownerId}
      AND (folder_id IN (SELECT id FROM chain) OR (${fileId}::text IS NOT NULL AND file_id = ${fileId}))
      AND EXISTS (SELECT 1 FROM users WHERE users.id = user_shares.owner_id AND users.deactivated_at IS NULL)`;
  if (rows.length === 0) return null;
  return rows.some((row) => row.permission === "WRITE") ? "WRITE" : "READ";
}

/** Owners use their own items, admins may read anyone's, and share grantees what was shared. */
export async function canRead(services: Services, user: Actor, target: AccessTarget): Promise<boolean> {
  if (user.id === target.ownerId || user.role === "ADMIN") return true;
  return (await shareGrant(services, user, target)) !== null;
}

/** Owners, and grantees holding WRITE on the item or a folder above it. */
export async function canWrite(services: Services, user: Actor, target: AccessTarget): Promise<boolean> {
  if (user.id === target.ownerId) return true;
  return (await shareGrant(services, user, target)) === "WRITE";
}
