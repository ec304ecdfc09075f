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
  /** Erased with everything it owned; `wasDeleted` when it had been marked deleted before. */
  | { kind: "purged"; objectsDeleted: number; wasDeleted: boolean }
  /** Marked deleted: restorable until `purgeAfter`, then the hourly job erases it. */
  | { kind: "deleted"; purgeAfter: Date; graceDays: number };

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Deletes an account as the settings say: at once (no grace period), or by marking it deleted
 * for the grace period. An account already marked deleted is erased now.
 */
export async function removeAccount(services: Services, userId: string, options: EraseOptions): Promise<AccountRemoval> {
  const { deletedAccountRetentionDays: graceDays } = await getSettings(services);
  const current = await services.prisma.user.findUnique({ where: { id: userId }, select: { deletedAt: true } });
  if (graceDays === 0 || current?.deletedAt) {
    const { objectsDeleted } = await eraseAccount(services, userId, current?.deletedAt ? { ...options, action: "user.purged" } : options);
    return { kind: "purged", objectsDeleted, wasDeleted: Boolean(current?.deletedAt) };
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
  for (const user of due) {
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
 * Deletes an account and everything it owns. Rows go first in one transaction (cascades remove
 * folders, files, versions, share links, shares, sessions and pending uploads), then the stored
 * objects and the unfinished uploads' data in the tus store, so a crash leaves orphan objects
 * rather than rows without bytes. The person's audit entries are kept under a pseudonym, which
 * also replaces their email in other people's entries about them.
 */
export async function eraseAccount(services: Services, userId: string, options: EraseOptions): Promise<{ objectsDeleted: number }> {
  const pseudonym = pseudonymFor(services, userId);
  const outcome = await services.prisma.$transaction(
    async (tx) => {
      // Uploads other people are making into this account's folders end with it: their target is
      // gone (or, handed over, no longer shared with them), and landing them in the uploader's
      // own storage instead would surprise. Under the account's storage lock no new one starts
      // or finishes meanwhile; a finish waiting for it then finds its upload gone.
      await lockStorage(tx, userId);
      const othersUploads = await tx.$queryRaw<Array<{ id: string }>>`
        SELECT u.id FROM uploads u JOIN folders f ON f.id = u.folder_id WHERE f.owner_id = ${userId} AND u.owner_id <> ${userId}`;
      if (othersUploads.length > 0) await tx.upload.deleteMany({ where: { id: { in: othersUploads.map(({ id }) => id) } } });
      await options.before?.(tx);
      const files = await tx.file.findMany({ where: { ownerId: userId }, select: { id: true, storageKey: true, thumbnailKey: true } });
      const versions = await tx.fileVersion.findMany({ where: { file: { ownerId: userId } }, select: { storageKey: true } });
      const folders = await tx.folder.findMany({ where: { ownerId: userId }, select: { id: true } });
      const uploads = [...(await tx.upload.findMany({ where: { ownerId: userId }, select: { id: true } })), ...othersUploads];
      const sessions = await tx.session.findMany({ where: { userId }, select: { id: true } });
      const { email } = await tx.user.findUniqueOrThrow({ where: { id: userId }, select: { email: true } });
      await tx.user.delete({ where: { id: userId } });
      await pseudonymiseAuditActor(tx, userId, pseudonym);
      await pseudonymiseAuditMentions(tx, userId, email, pseudonym);
      await recordAudit(tx, options.actor, {
        action: options.action ?? "user.deleted",
        targetType: "user",
        targetId: userId,
        details: {
          ...options.details,
          files: files.length,
          folders: folders.length,
          versions: versions.length,
          uploads: uploads.length - othersUploads.length,
          othersUploads: othersUploads.length,
        },
      });
      return {
        keys: [
          ...files.map((file) => file.storageKey),
          ...files.flatMap((file) => (file.thumbnailKey ? [file.thumbnailKey] : [])),
          ...versions.map((version) => version.storageKey),
          ...uploads.flatMap(({ id }) => [id, `${id}.info`, `${id}.json`, `${id}.part`]),
        ],
        searchIds: [...files.map((file) => file.id), ...folders.map((folder) => folder.id)],
        uploadIds: uploads.map(({ id }) => id),
        sessionIds: sessions.map(({ id }) => id),
      };
    },
    { ...STORAGE_LOCK_TX, timeout: 120_000 },
  );

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
  for (let i = 0; i < outcome.searchIds.length; i += 1000) {
    await services.search
      .remove(outcome.searchIds.slice(i, i + 1000))
      .catch((error) => services.log.warn("could not remove a deleted account from search", { error }));
  }
  services.log.info("account deleted", { pseudonym, objects: outcome.keys.length });
  return { objectsDeleted: outcome.keys.length };
}
