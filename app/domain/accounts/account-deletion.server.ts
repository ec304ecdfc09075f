// Deleting an account with all its data: by the person (confirmed) or by an administrator;
// their audit entries are kept under a pseudonym. With a grace period in the settings, deleting
// first only marks the account deleted (and deactivated); the hourly job purges it afterwards.
import { createHmac } from "node:crypto";
import { getSettings } from "~/domain/admin/settings.server";
import { endSessionsWhere, type SessionUser } from "~/domain/accounts/sessions.server";
import { reauthMethods } from "~/domain/accounts/reauth.server";
import { verifyLogin } from "~/domain/accounts/users.server";
import {
  type AuditActor,
  auditActor,
  pseudonymiseAuditActor,
  pseudonymiseAuditMentions,
  recordAudit,
  SYSTEM_ACTOR,
} from "~/domain/audit/audit.server";
import { ConflictError, ValidationError } from "~/domain/errors";
import { lockStorage, STORAGE_LOCK_TX } from "~/domain/files/quota.server";
import { deleteUnreferencedObjects } from "~/domain/files/shared-objects.server";
import { countInScope, type PurgeOptions, purgeInBatches } from "~/domain/files/trash-batches.server";
import { BULK_QUEUE } from "~/domain/files/bulk-operations.server";
import { INLINE_PURGE_LIMIT } from "~/domain/files/trash-purge.server";
import { assertAccountNotHeld, HeldError } from "~/domain/files/holds.server";
import type { Prisma } from "~/generated/prisma/client";
import type { Services } from "~/services/index.server";

/** A stable stand-in for a deleted user in the audit log; not reversible without the server secret. */
export function pseudonymFor(services: Services, userId: string): string {
  return `deleted-user-${createHmac("sha256", services.sessionSecret).update(`audit-pseudonym:${userId}`).digest("hex").slice(0, 16)}`;
}

/**
 * Deletes the person's own account after checking the confirmation: the typed email must match
 * and the password must be right. The last active administrator cannot leave.
 */
export async function deleteAccount(
  services: Services,
  user: SessionUser,
  input: { confirmEmail: unknown; password: unknown },
  request: Request,
  clientIp: string | null,
): Promise<AccountRemoval> {
  const confirmEmail = typeof input.confirmEmail === "string" ? input.confirmEmail.trim().toLowerCase() : "";
  const password = typeof input.password === "string" ? input.password : "";
  if (confirmEmail !== user.email.toLowerCase()) {
    throw new ValidationError("Type your email address exactly as shown to confirm.", { confirmEmail: "This is not your email address." });
  }
  // A recent confirmation at the provider stands in for the password (accounts made by single sign-on have none).
  const methods = await reauthMethods(services, user);
  if (!methods.confirmedUntil && !(methods.password && (await verifyLogin(services, user.email, password)))) {
    const message = !methods.provider
      ? "Your password is not right, so nothing was deleted."
      : methods.password
        ? `Nothing was deleted. Enter your password, or confirm it's you with ${methods.provider} and delete the account within 10 minutes.`
        : `Nothing was deleted. Confirm it's you with ${methods.provider} first, then delete the account within 10 minutes.`;
    throw new ValidationError(message, {
      password: methods.password ? "The password is not right." : `Confirm it's you with ${methods.provider}.`,
    });
  }
  if (user.role === "ADMIN" && (await services.prisma.user.count({ where: { role: "ADMIN", deactivatedAt: null } })) <= 1) {
    throw new ConflictError("You are the only administrator. Make someone else an administrator first, so Coffer keeps one.");
  }

  const pseudonym = pseudonymFor(services, user.id);
  return removeAccount(services, user.id, {
    // The event is the person's own, under the name their other entries have once it is purged.
    actor: { ...auditActor(request, clientIp, null), actorId: user.id, actorLabel: pseudonym, ip: null, userAgent: null },
  });
}

export type AccountRemoval =
  /**
   * Erased with everything it owned; `wasDeleted` when it had been marked deleted before.
   * `erasing` names the bulk operation when a background job goes on erasing it (a large account).
   */
  | { kind: "purged"; objectsDeleted: number; wasDeleted: boolean; erasing: string | null }
  /** Marked deleted: restorable until `purgeAfter`, then the hourly job erases it. */
  | { kind: "deleted"; purgeAfter: Date; graceDays: number };

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Deletes an account as the settings say: at once (no grace period), or by marking it deleted
 * for the grace period. An account already marked deleted is erased now.
 */
export async function removeAccount(services: Services, userId: string, options: EraseOptions): Promise<AccountRemoval> {
  // Not even marked deleted while a legal hold covers the account or anything it owns.
  await assertAccountNotHeld(services.prisma, userId);
  const { deletedAccountRetentionDays: graceDays } = await getSettings(services);
  const current = await services.prisma.user.findUnique({ where: { id: userId }, select: { deletedAt: true } });
  if (graceDays === 0 || current?.deletedAt) {
    const { objectsDeleted, erasing } = await eraseAccount(
      services,
      userId,
      current?.deletedAt ? { ...options, action: "user.purged" } : options,
    );
    return { kind: "purged", objectsDeleted, wasDeleted: Boolean(current?.deletedAt), erasing };
  }
  return markAccountDeleted(services, userId, graceDays, options);
}

/**
 * Marks the account deleted and deactivated (so everything that refuses a deactivated account
 * refuses it: sign-in, sessions, share links, shares, uploads), ends its sessions and stops its
 * uploads. Its rows and objects stay until the purge. `deactivated_at` keeps an earlier
 * deactivation's time, which is how a restore knows to leave the account deactivated.
 */
async function markAccountDeleted(services: Services, userId: string, graceDays: number, options: EraseOptions): Promise<AccountRemoval> {
  const deletedAt = new Date();
  const purgeAfter = new Date(deletedAt.getTime() + graceDays * DAY_MS);
  await services.prisma.$transaction(
    async (tx) => {
      await lockStorage(tx, userId);
      await options.before?.(tx);
      const user = await tx.user.findUniqueOrThrow({ where: { id: userId }, select: { deactivatedAt: true } });
      await tx.user.update({ where: { id: userId }, data: { deletedAt, deactivatedAt: user.deactivatedAt ?? deletedAt } });
      await recordAudit(tx, options.actor, {
        action: "user.deleted",
        targetType: "user",
        targetId: userId,
        details: { ...options.details, graceDays, purgeAfter: purgeAfter.toISOString() },
      });
    },
    { ...STORAGE_LOCK_TX, timeout: 120_000 },
  );
  // After the commit, as a deactivation does: a login racing this finds the account deactivated.
  await endSessionsWhere(services, { userId });
  const uploads = await services.prisma.$queryRaw<Array<{ id: string }>>`
    SELECT u.id FROM uploads u LEFT JOIN folders f ON f.id = u.folder_id WHERE u.owner_id = ${userId} OR f.owner_id = ${userId}`;
  if (uploads.length > 0) await services.uploadTerminator?.stop(uploads.map(({ id }) => id));
  return { kind: "deleted", purgeAfter, graceDays };
}

/** Thrown inside a purge's transaction when the account was restored meanwhile: nothing is erased. */
class RestoredMeanwhile extends Error {}

/**
 * Erases the accounts deleted longer ago than the grace period, oldest first, each with the
 * full deletion (`user.purged` in the audit log). An account restored between the listing and
 * its erasure is left alone: the check is repeated under a lock on its row.
 */
export async function purgeDeletedAccounts(services: Services, now = new Date()): Promise<{ accounts: number; objects: number }> {
  const { deletedAccountRetentionDays: graceDays } = await getSettings(services);
  const cutoff = new Date(now.getTime() - graceDays * DAY_MS);
  const due = await services.prisma.user.findMany({
    where: { deletedAt: { lte: cutoff } },
    orderBy: { deletedAt: "asc" },
    select: { id: true, deletedAt: true },
  });
  let accounts = 0;
  let objects = 0;
  // Erasures a stopped process left half done come first: they are past any restore.
  const unfinished = await unfinishedErasures(services);
  for (const userId of unfinished) {
    try {
      objects += (await finishErasing(services, userId)).objectsDeleted;
      accounts++;
    } catch (error) {
      services.log.error("could not finish erasing an account", { pseudonym: pseudonymFor(services, userId), error });
    }
  }
  for (const user of due.filter(({ id }) => !unfinished.includes(id))) {
    try {
      const { objectsDeleted } = await eraseAccount(services, user.id, {
        actor: SYSTEM_ACTOR,
        action: "user.purged",
        details: { deletedAt: user.deletedAt!.toISOString(), graceDays, pseudonym: pseudonymFor(services, user.id) },
        before: async (tx) => {
          const [row] = await tx.$queryRaw<Array<{ deleted_at: Date | null }>>`
            SELECT deleted_at FROM users WHERE id = ${user.id} FOR UPDATE`;
          if (!row?.deleted_at || row.deleted_at > cutoff) throw new RestoredMeanwhile();
        },
      });
      accounts++;
      objects += objectsDeleted;
    } catch (error) {
      if (error instanceof RestoredMeanwhile) continue;
      if (error instanceof HeldError) {
        // Purged on a later run, once every hold on it is released.
        services.log.info("a deleted account is on legal hold; not purged", { pseudonym: pseudonymFor(services, user.id) });
        continue;
      }
      services.log.error("could not purge a deleted account", { pseudonym: pseudonymFor(services, user.id), error });
    }
  }
  return { accounts, objects };
}

export interface EraseOptions {
  /** Who deleted the account, for its `user.deleted` (or `user.purged`) event. */
  actor: AuditActor;
  /** `user.purged` when a deleted account's grace period is over (or an admin cuts it short). */
  action?: "user.deleted" | "user.purged";
  /** More for that event (what an administrator decided). */
  details?: Record<string, string | number | boolean>;
  /**
   * Runs first, in the deletion's transaction: checks that must hold under lock, and handing
   * items to another user (what the account no longer owns afterwards is not deleted).
   */
  before?: (tx: Prisma.TransactionClient) => Promise<void>;
}

/**
 * Deletes an account and everything it owns. First, in one short transaction under the account's
 * storage lock, `before` runs, the account is marked deleted and deactivated (refused everywhere)
 * and an erase-account bulk operation is recorded. Then its files and folders go in batches of
 * short transactions, each followed by deleting their objects, so a crash leaves orphan objects
 * rather than rows without bytes, and the hourly purge carries on with what is left. Last, the
 * user row goes (cascades remove share links, shares, sessions, pending uploads, the operation)
 * with the audit event, then the unfinished uploads' data in the tus store. The person's audit
 * entries are kept under a pseudonym, which also replaces their email in other people's entries.
 */
export async function eraseAccount(
  services: Services,
  userId: string,
  options: EraseOptions,
  tuning: PurgeOptions & { inlineLimit?: number } = {},
): Promise<{ objectsDeleted: number; erasing: string | null }> {
  const started = await services.prisma.$transaction(
    async (tx) => {
      // Uploads other people are making into this account's folders end with it: their target is
      // gone (or, handed over, no longer shared with them), and landing them in the uploader's
      // own storage instead would surprise. Under the account's storage lock no new one starts
      // or finishes meanwhile; a finish waiting for it then finds its upload gone.
      await lockStorage(tx, userId);
      await assertAccountNotHeld(tx, userId);
      const othersUploads = await tx.$queryRaw<Array<{ id: string }>>`
        SELECT u.id FROM uploads u JOIN folders f ON f.id = u.folder_id WHERE f.owner_id = ${userId} AND u.owner_id <> ${userId}`;
      if (othersUploads.length > 0) await tx.upload.deleteMany({ where: { id: { in: othersUploads.map(({ id }) => id) } } });
      await options.before?.(tx);
      const now = new Date();
      const user = await tx.user.findUniqueOrThrow({ where: { id: userId }, select: { deletedAt: true, deactivatedAt: true } });
      await tx.user.update({ where: { id: userId }, data: { deletedAt: user.deletedAt ?? now, deactivatedAt: user.deactivatedAt ?? now } });
      const othersUploadIds = othersUploads.map(({ id }) => id);
      // An erasure already under way (its process stopped) carries on under its own audit event.
      if (await isBeingErased(tx, userId)) return { othersUploadIds, operationId: null };
      // Nothing is counted here: counting a million rows held this transaction (and the account's
      // storage lock) for half a minute. The batches count what they delete for the audit event.
      const operation = await tx.bulkOperation.create({
        data: {
          ownerId: userId,
          kind: ERASE_KIND,
          cutoff: now,
          total: 0,
          auditActor: { ...options.actor },
          auditDetails: { action: options.action ?? "user.deleted", details: { ...options.details, othersUploads: othersUploads.length } },
          actorId: options.actor.actorId,
        },
        select: { id: true },
      });
      return { othersUploadIds, operationId: operation.id };
    },
    { ...STORAGE_LOCK_TX, timeout: 120_000 },
  );
  // The total, for the progress page only: counted outside any transaction, under no lock.
  const total = started.operationId ? await countInScope(services, { kind: "account", ownerId: userId }) : 0;
  if (started.operationId) await services.prisma.bulkOperation.update({ where: { id: started.operationId }, data: { total } });
  // A large account is erased by the bulk-operation job (the account is closed already); if that
  // is lost, the hourly purge finishes it.
  const queue = services.jobs?.queues().some((queue) => queue.name === BULK_QUEUE) ? services.jobs : undefined;
  if (queue && total > (tuning.inlineLimit ?? INLINE_PURGE_LIMIT) && started.othersUploadIds.length === 0) {
    await queue.send(BULK_QUEUE, { eraseUserId: userId });
    return { objectsDeleted: 0, erasing: started.operationId };
  }
  return { ...(await finishErasing(services, userId, started.othersUploadIds, tuning)), erasing: null };
}

const ERASE_KIND = "erase-account";

/** Accounts whose erasure started and did not finish (the process stopped): the purge carries on. */
export async function unfinishedErasures(services: Services): Promise<string[]> {
  const rows = await services.prisma.bulkOperation.findMany({ where: { kind: ERASE_KIND }, select: { ownerId: true } });
  return rows.map((row) => row.ownerId);
}

/** Whether the account is being erased (then it cannot be restored any more). */
export async function isBeingErased(db: Pick<Prisma.TransactionClient, "bulkOperation">, userId: string): Promise<boolean> {
  return (await db.bulkOperation.count({ where: { ownerId: userId, kind: ERASE_KIND } })) > 0;
}

/** The batches, then the user row with the audit event; also what resumes an interrupted erasure. */
export async function finishErasing(
  services: Services,
  userId: string,
  othersUploadIds: string[] = [],
  tuning: PurgeOptions = {},
): Promise<{ objectsDeleted: number }> {
  await assertAccountNotHeld(services.prisma, userId);
  const pseudonym = pseudonymFor(services, userId);
  const counted = await purgeInBatches(
    services,
    { kind: "account", ownerId: userId },
    {
      ...tuning,
      onBatch: async (tx, deleted) => {
        await tx.bulkOperation.updateMany({
          where: { ownerId: userId, kind: ERASE_KIND },
          data: {
            done: { increment: deleted.files + deleted.folders },
            files: { increment: deleted.files },
            folders: { increment: deleted.folders },
            objects: { increment: deleted.objects },
            versions: { increment: deleted.versions },
          },
        });
        await tuning.onBatch?.(tx, deleted);
      },
    },
  );
  const outcome = await services.prisma.$transaction(
    async (tx) => {
      await lockStorage(tx, userId);
      const operation = await tx.bulkOperation.findFirst({ where: { ownerId: userId, kind: ERASE_KIND } });
      if (!operation) return null;
      // What is left is small: uploads, sessions, share links, whatever else refers to the account.
      const files = await tx.file.findMany({ where: { ownerId: userId }, select: { id: true, storageKey: true, thumbnailKey: true } });
      const versions = await tx.fileVersion.findMany({ where: { file: { ownerId: userId } }, select: { storageKey: true } });
      const uploads = await tx.upload.findMany({ where: { ownerId: userId }, select: { id: true } });
      const sessions = await tx.session.findMany({ where: { userId }, select: { id: true } });
      const { email } = await tx.user.findUniqueOrThrow({ where: { id: userId }, select: { email: true } });
      await tx.user.delete({ where: { id: userId } });
      await pseudonymiseAuditActor(tx, userId, pseudonym);
      await pseudonymiseAuditMentions(tx, userId, email, pseudonym);
      const audit = operation.auditDetails as {
        action: "user.deleted" | "user.purged";
        details: Record<string, string | number | boolean>;
      };
      await recordAudit(tx, operation.auditActor as unknown as AuditActor, {
        action: audit.action,
        targetType: "user",
        targetId: userId,
        // What the batches deleted, and what was left for this last transaction.
        details: {
          ...audit.details,
          files: operation.files + files.length,
          folders: operation.folders,
          versions: operation.versions + versions.length,
          uploads: uploads.length,
        },
      });
      const uploadIds = [...uploads.map(({ id }) => id), ...othersUploadIds];
      return {
        keys: [
          ...files.map((file) => file.storageKey),
          ...files.flatMap((file) => (file.thumbnailKey ? [file.thumbnailKey] : [])),
          ...versions.map((version) => version.storageKey),
          ...uploadIds.flatMap((id) => [id, `${id}.info`, `${id}.json`, `${id}.part`]),
        ],
        searchIds: files.map((file) => file.id),
        uploadIds,
        sessionIds: sessions.map(({ id }) => id),
        objects: operation.objects,
      };
    },
    { ...STORAGE_LOCK_TX, timeout: 120_000 },
  );
  if (!outcome) return { objectsDeleted: counted.objects };

  // Open tabs of the account lose their live connection at once.
  services.notifier.endSessions(outcome.sessionIds);
  // Unfinished uploads end now, not at the expiry sweep: an S3 multipart upload's parts are not
  // objects that the deletion below would reach. The account's sessions are gone, so a request
  // still sending bytes is stopped and its client's next one refused.
  if (outcome.uploadIds.length > 0 && services.uploadTerminator) {
    const { failed } = await services.uploadTerminator.terminate(outcome.uploadIds);
    if (failed > 0) services.log.warn("unfinished uploads of a deleted account are left to the expiry cleanup", { pseudonym, failed });
  }
  // Objects another account's files still name (the same contents, deduplicated) are kept.
  await deleteUnreferencedObjects(services, outcome.keys);
  await services.search
    .remove(outcome.searchIds)
    .catch((error) => services.log.warn("could not remove a deleted account from search", { error }));
  const objectsDeleted = outcome.objects + outcome.keys.length;
  services.log.info("account deleted", { pseudonym, objects: objectsDeleted });
  return { objectsDeleted };
}

export interface ErasureProgress {
  /** Files and folders erased so far, of `total` (counted when it started). */
  done: number;
  total: number;
}

/** How far the erasure of an account is; null when none is under way (finished, or never started). */
export async function erasureOfAccount(services: Services, userId: string): Promise<ErasureProgress | null> {
  return services.prisma.bulkOperation.findFirst({ where: { ownerId: userId, kind: ERASE_KIND }, select: { done: true, total: true } });
}

/**
 * How far an erasure is, by the operation's id (what the person who deleted their own account is
 * shown, signed out: numbers only, nothing about the account); null once it is finished.
 */
export async function erasureById(services: Services, operationId: string): Promise<ErasureProgress | null> {
  return services.prisma.bulkOperation.findFirst({ where: { id: operationId, kind: ERASE_KIND }, select: { done: true, total: true } });
}
