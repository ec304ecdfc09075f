import type { Prisma } from "~/generated/prisma/client";
import type { Services } from "~/services/index.server";
import { recordShareDenial, signedInAuditActor } from "./access-denials.server";
import { ForbiddenError, NotFoundError } from "../errors";
import type { SessionUser } from "../accounts/sessions.server";

type Actor = Pick<SessionUser, "id" | "role"> & { email?: string };

/** What an access check is about: a folder, or a file (with the folder it sits in). */
export type AccessTarget =
  | { kind: "folder"; id: string; ownerId: string }
  | { kind: "file"; id: string; ownerId: string; folderId: string };

export type Grant = "READ" | "WRITE";

/**
 * Why a user may not use someone else's item. "not-shared": no share covers it, nor ever did;
 * "share-revoked": no share covers it any more (one the user held on it, or on a folder above it,
 * was removed); "owner-deactivated": a share covers it but its owner's account is deactivated;
 * "read-only": a read-only share, asked to change; "admin-read-only": an administrator, who may
 * read anyone's items but change only their own and those shared with them.
 */
export type AccessRefusal = "not-shared" | "share-revoked" | "owner-deactivated" | "read-only" | "admin-read-only";

/**
 * User shares that grant access now: those of owners whose account is active. A deactivated
 * owner's shares are kept (they work again on reactivation) but grant nothing meanwhile, as if
 * revoked. Lists of shared items filter with this; access checks go through shareGrant.
 */
export const LIVE_USER_SHARE = { owner: { deactivatedAt: null } } satisfies Prisma.UserShareWhereInput;

/**
 * The strongest share the user holds on the target (on the file itself, or on its folder or any
 * folder above it: a folder share covers the whole subtree), whether or not it grants anything
 * now, and whether the owner's account is deactivated (then it grants nothing).
 */
async function shareStanding(
  services: Services,
  user: Pick<SessionUser, "id">,
  target: AccessTarget,
): Promise<{ held: Grant | null; ownerDeactivated: boolean }> {
  const { startFolderId, fileId } = chainStart(target);
  const rows = await services.prisma.$queryRaw<Array<{ permission: string; owner_deactivated: boolean }>>`
    WITH RECURSIVE chain AS (
      SELECT id, parent_id, 0 AS depth FROM folders WHERE id = ${startFolderId}
      UNION ALL
      SELECT f.id, f.parent_id, chain.depth + 1 FROM folders f JOIN chain ON f.id = chain.parent_id
      WHERE chain.depth < 1000
    )
    SELECT permission::text AS permission,
           EXISTS (SELECT 1 FROM users WHERE users.id = user_shares.owner_id AND users.deactivated_at IS NOT NULL) AS owner_deactivated
    FROM user_shares
    WHERE grantee_id = ${user.id}
      AND owner_id = ${target.ownerId}
      AND (folder_id IN (SELECT id FROM chain) OR (${fileId}::text IS NOT NULL AND file_id = ${fileId}))`;
  if (rows.length === 0) return { held: null, ownerDeactivated: false };
  return {
    held: rows.some((row) => row.permission === "WRITE") ? "WRITE" : "READ",
    ownerDeactivated: rows.some((row) => row.owner_deactivated),
  };
}

function chainStart(target: AccessTarget) {
  return { startFolderId: target.kind === "folder" ? target.id : target.folderId, fileId: target.kind === "file" ? target.id : null };
}

/**
 * Why no share covers the target: a share the user held on it or a folder above it was removed
 * (the audit log keeps every removal, with its grantee), or there never was one. Asked only
 * for a refusal.
 */
async function noShareReason(
  services: Services,
  user: Pick<SessionUser, "id">,
  target: AccessTarget,
): Promise<"not-shared" | "share-revoked"> {
  const { startFolderId, fileId } = chainStart(target);
  const rows = await services.prisma.$queryRaw<Array<{ revoked: boolean }>>`
    WITH RECURSIVE chain AS (
      SELECT id, parent_id, 0 AS depth FROM folders WHERE id = ${startFolderId}
      UNION ALL
      SELECT f.id, f.parent_id, chain.depth + 1 FROM folders f JOIN chain ON f.id = chain.parent_id
      WHERE chain.depth < 1000
    )
    SELECT EXISTS (
      SELECT 1 FROM audit_events
      WHERE action = 'share.removed'
        AND details->>'granteeId' = ${user.id}
        AND (target_id IN (SELECT id FROM chain) OR (${fileId}::text IS NOT NULL AND target_id = ${fileId}))
    ) AS revoked`;
  return rows[0]?.revoked ? "share-revoked" : "not-shared";
}

/**
 * The strongest share grant the user holds on the target from an owner whose account is active
 * (LIVE_USER_SHARE). Null: none.
 */
export async function shareGrant(services: Services, user: Pick<SessionUser, "id">, target: AccessTarget): Promise<Grant | null> {
  const standing = await shareStanding(services, user, target);
  return standing.ownerDeactivated ? null : standing.held;
}

/** Null when the user may read the target (owners, admins, live share grantees); otherwise why not. */
export async function readRefusal(services: Services, user: Actor, target: AccessTarget): Promise<AccessRefusal | null> {
  if (user.id === target.ownerId || user.role === "ADMIN") return null;
  const standing = await shareStanding(services, user, target);
  if (standing.held === null) return noShareReason(services, user, target);
  return standing.ownerDeactivated ? "owner-deactivated" : null;
}

/** Null when the user may change the target (owners, live WRITE grantees); otherwise why not. */
export async function writeRefusal(services: Services, user: Actor, target: AccessTarget): Promise<AccessRefusal | null> {
  if (user.id === target.ownerId) return null;
  const standing = await shareStanding(services, user, target);
  if (standing.held !== null && standing.ownerDeactivated) return "owner-deactivated";
  if (standing.held === "WRITE") return null;
  if (standing.held === "READ") return "read-only";
  return user.role === "ADMIN" ? "admin-read-only" : noShareReason(services, user, target);
}

/** Owners use their own items, admins may read anyone's, and share grantees what was shared. */
export async function canRead(services: Services, user: Actor, target: AccessTarget): Promise<boolean> {
  return (await readRefusal(services, user, target)) === null;
}

/** Owners, and grantees holding WRITE on the item or a folder above it. */
export async function canWrite(services: Services, user: Actor, target: AccessTarget): Promise<boolean> {
  return (await writeRefusal(services, user, target)) === null;
}

/**
 * Audits a refusal that concerns a share (an administrator refused a change to an item nobody
 * shared with them is no share refusal).
 */
export async function auditRefusal(
  services: Services,
  user: Actor,
  target: AccessTarget,
  refusal: AccessRefusal,
  access: "read" | "write",
): Promise<void> {
  if (refusal === "admin-read-only") return;
  await recordShareDenial(services, await signedInAuditActor(services, user), {
    targetType: target.kind,
    targetId: target.id,
    reason: refusal,
    details: { access, ownerId: target.ownerId },
  });
}

/**
 * Refuses (NotFound, never revealing that the item exists) a user who may not read the target,
 * and audits the refusal. `what` names it: "That file".
 */
export async function assertCanRead(services: Services, user: Actor, target: AccessTarget, what: string): Promise<void> {
  const refusal = await readRefusal(services, user, target);
  if (refusal === null) return;
  await auditRefusal(services, user, target, refusal, "read");
  throw new NotFoundError(what);
}

/** What a refused change says: the true reason, to someone who may see the item. */
export function writeRefusalMessage(refusal: AccessRefusal, kind: AccessTarget["kind"]): string {
  switch (refusal) {
    case "owner-deactivated":
      return `You can view this ${kind} but not change it: its owner's account is deactivated, so what they shared cannot be changed until an administrator reactivates it.`;
    case "read-only":
      return `You can view this ${kind} but not change it: it was shared with you read-only.`;
    case "admin-read-only":
      return `You can view this ${kind} as an administrator, but not change it: only its owner and people it is shared with for changing can.`;
    case "not-shared":
      return `You cannot change this ${kind}: it is not shared with you.`;
    case "share-revoked":
      return `You cannot change this ${kind}: it is no longer shared with you.`;
  }
}

/**
 * Refuses a change by someone who may read the target but not change it (ForbiddenError with
 * the true reason), and audits the refusal. Check readability first: a grantee of a deactivated
 * owner must find the item gone (NotFound), as after a revoked share.
 */
export async function assertCanWrite(services: Services, user: Actor, target: AccessTarget): Promise<void> {
  const refusal = await writeRefusal(services, user, target);
  if (refusal === null) return;
  await auditRefusal(services, user, target, refusal, "write");
  throw new ForbiddenError(writeRefusalMessage(refusal, target.kind));
}
