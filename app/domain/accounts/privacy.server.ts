import { createHmac } from "node:crypto";
import { Readable } from "node:stream";
import type { Prisma } from "~/generated/prisma/client";
import { auditActor, pseudonymiseAuditActor, pseudonymiseAuditMentions, recordAudit, type AuditActor } from "~/domain/audit/audit.server";
import { ConflictError, ValidationError } from "~/domain/errors";
import type { SessionUser } from "~/domain/accounts/sessions.server";
import { lockStorage, STORAGE_LOCK_TX } from "~/domain/files/quota.server";
import { reauthMethods } from "~/domain/accounts/reauth.server";
import { verifyLogin } from "~/domain/accounts/users.server";
import { DirectoryNames, zipStream, type ZipEntry } from "~/domain/files/zip.server";
import type { Services } from "~/services/index.server";

/**
 * Privacy: everything Coffer holds about a person, exported as one streamed ZIP, and deleting an
 * account with all its data (audit entries are kept, pseudonymised).
 */

const PAGE = 1000;

interface FolderRow {
  id: string;
  parentId: string | null;
  name: string;
  trashed: boolean;
}

/** "report.pdf" replaced at 2026-01-02T03:04:05Z → "2026-01-02 03-04-05 report.pdf". */
function versionFileName(name: string, replacedAt: Date): string {
  const stamp = replacedAt.toISOString().slice(0, 19).replace("T", " ").replaceAll(":", "-");
  return `${stamp} ${name}`;
}

/** Archive directories for every folder of the owner, by id: "files/a/b" or "trash/a/b". */
async function folderPaths(services: Services, ownerId: string) {
  const folders: FolderRow[] = (
    await services.prisma.folder.findMany({
      where: { ownerId },
      select: { id: true, parentId: true, name: true, trashedAt: true },
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
    })
  ).map((folder) => ({ id: folder.id, parentId: folder.parentId, name: folder.name, trashed: folder.trashedAt !== null }));
  const byId = new Map(folders.map((folder) => [folder.id, folder]));
  const paths = new Map<string, string[]>();
  const childNames = new Map<string, DirectoryNames>();
  const namesIn = (dir: string) => {
    let names = childNames.get(dir);
    if (!names) childNames.set(dir, (names = new DirectoryNames()));
    return names;
  };
  // Folders before files in each directory, and parents before children (resolved recursively).
  const resolve = (folder: FolderRow, depth = 0): string[] => {
    const known = paths.get(folder.id);
    if (known) return known;
    if (folder.parentId === null || depth > 1000) {
      paths.set(folder.id, []);
      return [];
    }
    const parent = byId.get(folder.parentId);
    const parentPath = parent ? resolve(parent, depth + 1) : [];
    const path = [...parentPath, namesIn(parentPath.join("/")).claim(folder.name)];
    paths.set(folder.id, path);
    return path;
  };
  for (const folder of folders) resolve(folder);
  return { byId, paths, namesIn };
}

/**
 * The entries of a user's export: their files in "files/" (as in My files), trashed ones in
 * "trash/" (where they were), earlier versions in "versions/", and JSON metadata beside them.
 * Only the folder list and one page of files are held in memory at a time while it is built;
 * the bytes themselves are streamed from storage as the archive reaches them.
 */
export async function exportEntries(services: Services, userId: string, now = new Date()): Promise<ZipEntry[]> {
  const user = await services.prisma.user.findUniqueOrThrow({ where: { id: userId } });
  const { byId, paths, namesIn } = await folderPaths(services, userId);
  const entries: ZipEntry[] = [];
  const fileRecords: unknown[] = [];

  const topOf = (trashed: boolean) => (trashed ? "trash" : "files");
  const isTrashed = (folderId: string): boolean => {
    for (
      let folder = byId.get(folderId), depth = 0;
      folder && depth < 1000;
      folder = folder.parentId ? byId.get(folder.parentId) : undefined, depth++
    ) {
      if (folder.trashed) return true;
    }
    return false;
  };
  for (const [id, path] of paths) {
    if (path.length === 0) continue;
    entries.push({ kind: "folder", path: `${topOf(isTrashed(id))}/${path.join("/")}`, mtime: now });
  }

  let cursor: string | undefined;
  for (;;) {
    const files = await services.prisma.file.findMany({
      where: { ownerId: userId },
      orderBy: { id: "asc" },
      take: PAGE,
      ...(cursor ? { skip: 1, cursor: { id: cursor } } : {}),
      include: { versions: { orderBy: { replacedAt: "asc" } } },
    });
    if (files.length === 0) break;
    cursor = files[files.length - 1].id;
    for (const file of files) {
      const trashed = file.trashedAt !== null || isTrashed(file.folderId);
      const dir = paths.get(file.folderId) ?? [];
      const top = topOf(trashed);
      const archivePath = [top, ...dir, namesIn(dir.join("/")).claim(file.name)].join("/");
      entries.push({ kind: "file", path: archivePath, mtime: file.updatedAt, size: Number(file.size), storageKey: file.storageKey });
      const versions = file.versions.map((version) => {
        const versionDir = ["versions", ...dir].join("/");
        const versionPath = `${versionDir}/${namesIn(`versions\u0000${dir.join("/")}`).claim(versionFileName(file.name, version.replacedAt))}`;
        entries.push({
          kind: "file",
          path: versionPath,
          mtime: version.replacedAt,
          size: Number(version.size),
          storageKey: version.storageKey,
        });
        return {
          archivePath: versionPath,
          size: Number(version.size),
          mimeType: version.mimeType,
          sha256: version.sha256,
          createdAt: version.createdAt,
          replacedAt: version.replacedAt,
        };
      });
      fileRecords.push({
        id: file.id,
        name: file.name,
        archivePath,
        folder: dir.join("/"),
        size: Number(file.size),
        mimeType: file.mimeType,
        sha256: file.sha256,
        createdAt: file.createdAt,
        updatedAt: file.updatedAt,
        trashedAt: file.trashedAt,
        versions,
      });
    }
  }

  const [sessions, passkeys, shareLinks, sharesGiven, sharesReceived] = await Promise.all([
    services.prisma.session.findMany({
      where: { userId },
      select: { createdAt: true, lastSeenAt: true, expiresAt: true, ip: true, userAgent: true },
    }),
    // Names and dates only: the public key and credential id are of no use to the person.
    services.prisma.passkey.findMany({
      where: { userId },
      select: { name: true, createdAt: true, lastUsedAt: true, backedUp: true },
      orderBy: { createdAt: "asc" },
    }),
    services.prisma.shareLink.findMany({
      where: { ownerId: userId },
      select: {
        id: true,
        fileId: true,
        folderId: true,
        mode: true,
        expiresAt: true,
        maxDownloads: true,
        downloadCount: true,
        createdAt: true,
        passwordHash: true,
      },
    }),
    services.prisma.userShare.findMany({ where: { ownerId: userId }, include: { grantee: { select: { email: true } } } }),
    services.prisma.userShare.findMany({ where: { granteeId: userId }, include: { owner: { select: { email: true } } } }),
  ]);
  const account = {
    exportedAt: now,
    format: "coffer-export/1",
    profile: {
      id: user.id,
      email: user.email,
      name: user.name,
      role: user.role,
      quotaBytes: user.quotaBytes === null ? null : Number(user.quotaBytes),
      createdAt: user.createdAt,
    },
    sessions,
    passkeys: passkeys.map(({ backedUp, ...passkey }) => ({ ...passkey, synced: backedUp })),
    shareLinks: shareLinks.map(({ passwordHash, ...link }) => ({ ...link, passwordProtected: passwordHash !== null })),
    sharedByMe: sharesGiven.map((share) => ({
      fileId: share.fileId,
      folderId: share.folderId,
      permission: share.permission,
      with: share.grantee.email,
      createdAt: share.createdAt,
    })),
    sharedWithMe: sharesReceived.map((share) => ({
      fileId: share.fileId,
      folderId: share.folderId,
      permission: share.permission,
      from: share.owner.email,
      createdAt: share.createdAt,
    })),
    folders: [...paths.entries()]
      .filter(([, path]) => path.length > 0)
      .map(([id, path]) => ({ id, path: path.join("/"), trashed: isTrashed(id) })),
  };

  const json = (value: unknown) => () => Readable.from([JSON.stringify(value, null, 2)]);
  entries.unshift(
    { kind: "generated", path: "account.json", mtime: now, open: json(account) },
    { kind: "generated", path: "files.json", mtime: now, open: json(fileRecords) },
    { kind: "generated", path: "activity.json", mtime: now, open: () => Readable.from(pagedJsonArray(services, "activity", userId)) },
    { kind: "generated", path: "security-events.json", mtime: now, open: () => Readable.from(pagedJsonArray(services, "audit", userId)) },
  );
  return entries;
}

/** A JSON array written page by page, so a long history is never held in memory at once. */
async function* pagedJsonArray(services: Services, table: "activity" | "audit", userId: string): AsyncGenerator<string> {
  yield "[";
  let first = true;
  let cursor: string | undefined;
  for (;;) {
    const page =
      table === "activity"
        ? await services.prisma.activity.findMany({
            where: { userId },
            orderBy: { id: "asc" },
            take: PAGE,
            ...(cursor ? { skip: 1, cursor: { id: cursor } } : {}),
            select: { id: true, action: true, subjectType: true, subjectId: true, details: true, createdAt: true },
          })
        : await services.prisma.auditEvent.findMany({
            where: { actorId: userId },
            orderBy: { id: "asc" },
            take: PAGE,
            ...(cursor ? { skip: 1, cursor: { id: cursor } } : {}),
            select: { id: true, action: true, outcome: true, ip: true, userAgent: true, targetType: true, targetId: true, createdAt: true },
          });
    if (page.length === 0) break;
    cursor = page[page.length - 1].id;
    for (const row of page) {
      yield `${first ? "\n" : ",\n"}${JSON.stringify(row)}`;
      first = false;
    }
  }
  yield "\n]\n";
}

/** Everything of the user as one ZIP, streamed; records the export in the audit log. */
/** How many files the user keeps and their total size, for the privacy page. */
export async function storedFilesOf(services: Services, userId: string): Promise<{ files: number; bytes: number }> {
  const [files, bytes] = await Promise.all([
    services.prisma.file.count({ where: { ownerId: userId } }),
    services.prisma.file.aggregate({ where: { ownerId: userId }, _sum: { size: true } }),
  ]);
  return { files, bytes: Number(bytes._sum.size ?? 0) };
}

export async function exportAccount(services: Services, user: SessionUser, actor: AuditActor): Promise<Readable> {
  const entries = await exportEntries(services, user.id);
  await recordAudit(services.prisma, actor, {
    action: "user.data_exported",
    targetType: "user",
    targetId: user.id,
    details: { files: entries.filter((entry) => entry.kind === "file").length },
  });
  return zipStream(services, entries);
}

export function exportFileName(user: Pick<SessionUser, "email">, now = new Date()): string {
  const local =
    user.email
      .split("@")[0]
      .replace(/[^A-Za-z0-9._-]/g, "_")
      .slice(0, 40) || "account";
  return `coffer-export-${local}-${now.toISOString().slice(0, 10)}.zip`;
}

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
  for (let i = 0; i < outcome.keys.length; i += 1000) {
    await services.storage
      .deleteMany(outcome.keys.slice(i, i + 1000))
      .catch((error) => services.log.warn("could not delete every object of a deleted account", { error }));
  }
  for (let i = 0; i < outcome.searchIds.length; i += 1000) {
    await services.search
      .remove(outcome.searchIds.slice(i, i + 1000))
      .catch((error) => services.log.warn("could not remove a deleted account from search", { error }));
  }
  services.log.info("account deleted", { pseudonym, objects: outcome.keys.length });
  return { objectsDeleted: outcome.keys.length };
}
