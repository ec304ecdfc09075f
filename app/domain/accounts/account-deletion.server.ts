// Deleting an account with all its data: by the person (confirmed) or by an administrator;
// their audit entries are kept under a pseudonym.
import { createHmac } from "node:crypto";
import type { SessionUser } from "~/domain/accounts/sessions.server";
import { reauthMethods } from "~/domain/accounts/reauth.server";
import { verifyLogin } from "~/domain/accounts/users.server";
import { type AuditActor, auditActor, pseudonymiseAuditActor, pseudonymiseAuditMentions, recordAudit } from "~/domain/audit/audit.server";
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
): Promise<{ objectsDeleted: number }> {
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
  return eraseAccount(services, user.id, {
    // The event is the person's own, under the name their other entries now have.
    actor: { ...auditActor(request, clientIp, null), actorId: user.id, actorLabel: pseudonym, ip: null, userAgent: null },
  });
}

export interface EraseOptions {
  /** Who deleted the account, for its `user.deleted` event. */
  actor: AuditActor;
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
        action: "user.deleted",
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
