import { z } from "zod";
import type { Prisma } from "~/generated/prisma/client";
import { formatBytes } from "~/lib/format";
import type { Services } from "~/services/index.server";
import { countQuotaRefusal } from "~/services/metrics.server";
import { recordAudit, type AuditActor } from "../audit/audit.server";
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from "../errors";
import { MAX_NAME_BYTES, nameKey } from "../files/names";
import { freeName as freeItemName } from "../files/name-conflicts.server";
import { type AccountRemoval, isBeingErased, pseudonymFor, removeAccount } from "../accounts/account-deletion.server";
import { lockStorage, storageUsage } from "../files/quota.server";
import { confirmIdentity } from "../accounts/reauth.server";
import { getSettings, type Settings } from "./settings.server";
import { endSessionsWhere, type SessionUser } from "../accounts/sessions.server";
import { fileSearchDocument, folderSearchDocument } from "../search/search-documents.server";
import { transferDeadProperties } from "../webdav/properties.server";

/**
 * An administrator deactivating, reactivating and deleting other people's accounts. Admins
 * cannot do this to themselves here (self-deletion is on the privacy page), and the last active
 * administrator always stays. Every action needs the admin to confirm it is them.
 */

type Tx = Prisma.TransactionClient;

const userIdSchema = z.string().min(1).max(64);

export interface ManagedUser {
  id: string;
  name: string;
  email: string;
  role: "ADMIN" | "USER";
  deactivatedAt: Date | null;
  /** Set while the account is deleted but can still be restored. */
  deletedAt: Date | null;
}

const MANAGED_USER = { id: true, name: true, email: true, role: true, deactivatedAt: true, deletedAt: true } as const;

/** The account an admin manages from the admin pages; never the admin themselves. */
export async function getManagedUser(services: Services, admin: SessionUser, rawUserId: unknown): Promise<ManagedUser> {
  const parsed = userIdSchema.safeParse(rawUserId);
  const user = parsed.success ? await services.prisma.user.findUnique({ where: { id: parsed.data }, select: MANAGED_USER }) : null;
  if (!user) throw new NotFoundError("That user");
  assertNotSelf(admin, user);
  return user;
}

/** An account's name while it exists (an erasure's page names it until the account is gone). */
export async function accountName(services: Services, rawUserId: unknown): Promise<string | null> {
  const parsed = userIdSchema.safeParse(rawUserId);
  if (!parsed.success) return null;
  const user = await services.prisma.user.findUnique({ where: { id: parsed.data }, select: { name: true } });
  return user?.name ?? null;
}

function assertNotSelf(admin: SessionUser, user: { id: string }) {
  if (user.id === admin.id) {
    throw new ForbiddenError("You cannot deactivate or delete your own account here. To delete it, use Settings → Privacy.");
  }
}

/**
 * Locks the active administrators' rows (as role changes do), so two admins acting on each
 * other at once cannot leave Coffer without one; then checks the rules under that lock.
 */
async function lockForChange(tx: Tx, admin: SessionUser, userId: string): Promise<ManagedUser> {
  const admins = await tx.$queryRaw<
    Array<{ id: string }>
  >`SELECT id FROM users WHERE role = 'ADMIN' AND deactivated_at IS NULL ORDER BY id FOR UPDATE`;
  if (!admins.some((row) => row.id === admin.id)) throw new ForbiddenError("Only administrators can do this.");
  const user = await tx.user.findUnique({ where: { id: userId }, select: MANAGED_USER });
  if (!user) throw new NotFoundError("That user");
  assertNotSelf(admin, user);
  if (user.role === "ADMIN" && !user.deactivatedAt && admins.every((row) => row.id === user.id)) {
    throw new ConflictError(`${user.name} is the only active administrator. Make someone else an administrator first.`);
  }
  return user;
}

/**
 * Deactivates (`active` false) or reactivates an account. Deactivating ends all its sessions
 * and live connections at once; its files, share links and unfinished uploads are kept and work
 * again after reactivation.
 */
export async function setUserActive(
  services: Services,
  admin: SessionUser,
  rawUserId: unknown,
  active: boolean,
  proof: unknown,
  audit: AuditActor,
): Promise<{ name: string; changed: boolean }> {
  const target = await getManagedUser(services, admin, rawUserId);
  await confirmIdentity(services, admin, proof);
  const result = await services.prisma.$transaction(async (tx) => {
    const user = await lockForChange(tx, admin, target.id);
    if (user.deletedAt) throw new ConflictError(`${user.name}'s account is deleted. Restore it first; nothing was changed.`);
    if (Boolean(user.deactivatedAt) === !active) return { name: user.name, changed: false };
    await tx.user.update({ where: { id: user.id }, data: { deactivatedAt: active ? null : new Date() } });
    await recordAudit(tx, audit, {
      action: active ? "user.reactivated" : "user.deactivated",
      targetType: "user",
      targetId: user.id,
      details: { email: user.email },
    });
    return { name: user.name, changed: true };
  });
  // Sessions and sockets end after the commit: a login racing this finds the account deactivated.
  if (!active && result.changed) {
    await endSessionsWhere(services, { userId: target.id });
    // A request already sending bytes stops too: the person's own (their next request finds no
    // session), and other people's into the person's folders (their next one finds the share gone).
    const uploads = await services.prisma.$queryRaw<Array<{ id: string }>>`
      SELECT u.id FROM uploads u LEFT JOIN folders f ON f.id = u.folder_id
      WHERE u.owner_id = ${target.id} OR f.owner_id = ${target.id}`;
    if (uploads.length > 0) await services.uploadTerminator?.stop(uploads.map(({ id }) => id));
  }
  return result;
}

export interface DeletionSummary {
  user: ManagedUser;
  /** Files and folders not in the trash: what can be given to someone. */
  files: number;
  folders: number;
  /** Bytes of those files and their earlier versions. */
  bytes: number;
  /** What is in the trash, deleted with the account in any case. */
  trash: { files: number; folders: number; bytes: number };
  shareLinks: number;
  /** Items shared with other users. */
  userShares: number;
  uploads: number;
  /** Active accounts that could receive the files. */
  receivers: Array<{ id: string; name: string; email: string }>;
}

/** What deleting the account would remove, for the confirmation page. */
export async function deletionSummary(services: Services, admin: SessionUser, rawUserId: unknown): Promise<DeletionSummary> {
  const user = await getManagedUser(services, admin, rawUserId);
  const [files, folders, bytes, trashFiles, trashFolders, allBytes, shareLinks, userShares, uploads, receivers] = await Promise.all([
    services.prisma.file.count({ where: { ownerId: user.id, trashedAt: null } }),
    services.prisma.folder.count({ where: { ownerId: user.id, parentId: { not: null }, trashedAt: null } }),
    liveBytes(services.prisma, user.id),
    services.prisma.file.count({ where: { ownerId: user.id, trashedAt: { not: null } } }),
    services.prisma.folder.count({ where: { ownerId: user.id, trashedAt: { not: null } } }),
    services.prisma.user
      .findUniqueOrThrow({ where: { id: user.id }, select: { storageUsed: true } })
      .then((row) => Number(row.storageUsed)),
    services.prisma.shareLink.count({ where: { ownerId: user.id } }),
    services.prisma.userShare.count({ where: { ownerId: user.id } }),
    services.prisma.upload.count({ where: { ownerId: user.id } }),
    services.prisma.user.findMany({
      where: { id: { not: user.id }, deactivatedAt: null },
      orderBy: { name: "asc" },
      select: { id: true, name: true, email: true },
    }),
  ]);
  const trash = { files: trashFiles, folders: trashFolders, bytes: allBytes - bytes };
  return { user, files, folders, bytes, trash, shareLinks, userShares, uploads, receivers };
}

/**
 * Bytes of the owner's files outside the trash with their earlier versions: what giving them
 * away moves. (All of them, trash included, is the users.storage_used counter.)
 */
async function liveBytes(db: Pick<Tx, "$queryRaw">, ownerId: string): Promise<number> {
  const rows = await db.$queryRaw<Array<{ bytes: bigint | null }>>`
    SELECT COALESCE((SELECT SUM(size) FROM files WHERE owner_id = ${ownerId} AND trashed_at IS NULL), 0)
         + COALESCE((SELECT SUM(v.size) FROM file_versions v JOIN files f ON f.id = v.file_id
                     WHERE f.owner_id = ${ownerId} AND f.trashed_at IS NULL), 0) AS bytes`;
  return Number(rows[0]?.bytes ?? 0n);
}

/** The select on the confirmation page: "delete", or "give:<user id>". */
const dispositionSchema = z.union([
  z.literal("delete").transform(() => ({ kind: "delete" as const })),
  z
    .string()
    .regex(/^give:.{1,64}$/)
    .transform((value) => ({ kind: "give" as const, receiverId: value.slice("give:".length) })),
]);

/**
 * Deletes someone else's account, after the admin typed its email and confirmed it is them.
 * Its files are deleted, or given to another active user: moved, with their folders and
 * versions, into a new folder "From <name>" in the receiver's root, if the receiver's quota has
 * room for them. What is in the trash is deleted with the account either way.
 */
export async function deleteUserByAdmin(
  services: Services,
  admin: SessionUser,
  rawUserId: unknown,
  input: { confirmEmail: unknown; proof: unknown; files: unknown },
  audit: AuditActor,
): Promise<{ id: string; name: string; givenTo: string | null; removal: AccountRemoval }> {
  const target = await getManagedUser(services, admin, rawUserId);
  const disposition = dispositionSchema.safeParse(input.files);
  if (!disposition.success)
    throw new ValidationError("Choose what happens to their files.", { files: "Choose what happens to their files." });
  const confirmEmail = typeof input.confirmEmail === "string" ? input.confirmEmail.trim().toLowerCase() : "";
  if (confirmEmail !== target.email.toLowerCase()) {
    throw new ValidationError(`Type ${target.email} exactly to confirm. Nothing was deleted.`, {
      confirmEmail: `This is not ${target.name}'s email address.`,
    });
  }
  await confirmIdentity(services, admin, input.proof);

  let receiver: { id: string; name: string } | null = null;
  const settings = await getSettings(services);
  const moved: { rootId: string; folderIds: string[]; fileIds: string[] } = { rootId: "", folderIds: [], fileIds: [] };
  const removal = await removeAccount(services, target.id, {
    actor: audit,
    details: { byAdmin: true, pseudonym: pseudonymFor(services, target.id) },
    before: async (tx) => {
      // The receiver's storage lock comes before any row lock: their uploads and copies take it
      // first too, and then lock rows that refer to their account.
      if (disposition.data.kind === "give") await lockStorage(tx, disposition.data.receiverId);
      const user = await lockForChange(tx, admin, target.id);
      if (disposition.data.kind === "give") {
        receiver = await lockReceiver(tx, user, disposition.data.receiverId);
        Object.assign(moved, await giveItems(services, tx, user, receiver, settings));
      }
    },
  });
  const given = receiver as { id: string; name: string } | null;
  if (given) {
    await recordAudit(services.prisma, audit, {
      action: "user.files_transferred",
      targetType: "user",
      targetId: given.id,
      details: { from: pseudonymFor(services, target.id), files: moved.fileIds.length, folders: moved.folderIds.length },
    });
    await reindex(services, moved);
    // The receiver's open tabs show the new folder.
    services.notifier.toUser(given.id, { type: "folder:changed", folderId: moved.rootId });
  }
  return { id: target.id, name: target.name, givenTo: given?.name ?? null, removal };
}

/**
 * Brings back an account deleted within the grace period (not yet purged): it is no longer
 * deleted, and active again unless it had been deactivated before it was deleted. Its sessions
 * ended at deletion, so the person signs in again. What was given to someone else stays theirs.
 */
export async function restoreDeletedAccount(
  services: Services,
  admin: SessionUser,
  rawUserId: unknown,
  proof: unknown,
  audit: AuditActor,
): Promise<{ name: string }> {
  const target = await getManagedUser(services, admin, rawUserId);
  await confirmIdentity(services, admin, proof);
  return services.prisma.$transaction(async (tx) => {
    const [row] = await tx.$queryRaw<Array<{ deleted_at: Date | null; deactivated_at: Date | null }>>`
      SELECT deleted_at, deactivated_at FROM users WHERE id = ${target.id} FOR UPDATE`;
    // Purged meanwhile: the row is gone.
    if (!row) throw new NotFoundError("That user");
    if (!row.deleted_at) throw new ConflictError(`${target.name}'s account is not deleted; nothing was changed.`);
    if (await isBeingErased(tx, target.id)) throw new ConflictError(`${target.name}'s account is being erased; it cannot be restored.`);
    const deactivatedBefore = row.deactivated_at !== null && row.deactivated_at.getTime() !== row.deleted_at.getTime();
    await tx.user.update({
      where: { id: target.id },
      data: { deletedAt: null, deactivatedAt: deactivatedBefore ? row.deactivated_at : null },
    });
    await recordAudit(tx, audit, {
      action: "user.restored",
      targetType: "user",
      targetId: target.id,
      details: { email: target.email, deletedAt: row.deleted_at.toISOString(), stillDeactivated: deactivatedBefore },
    });
    return { name: target.name };
  });
}

async function lockReceiver(tx: Tx, from: ManagedUser, rawReceiverId: string): Promise<{ id: string; name: string }> {
  const rows = await tx.$queryRaw<
    Array<{ id: string }>
  >`SELECT id FROM users WHERE id = ${rawReceiverId} AND deactivated_at IS NULL FOR UPDATE`;
  const receiver =
    rows.length === 1 && rawReceiverId !== from.id
      ? await tx.user.findUnique({ where: { id: rawReceiverId }, select: { id: true, name: true } })
      : null;
  if (!receiver)
    throw new ValidationError("That person cannot receive the files: choose another one, or delete the files.", {
      files: "Choose an active account.",
    });
  return receiver;
}

/** "From Ann", made safe as a folder name (no slashes or control characters, at most 255 bytes). */
function fromFolderName(name: string): string {
  let clean = `From ${name
    .normalize("NFC")
    .replace(/[\\/\u0000-\u001f\u007f-\u009f]/g, "-")
    .trim()}`;
  while (Buffer.byteLength(clean, "utf8") > MAX_NAME_BYTES - 8) clean = clean.slice(0, -1);
  return clean;
}

async function freeName(tx: Tx, parentId: string, base: string): Promise<string> {
  for (let n = 0; ; n++) {
    const name = n === 0 ? base : `${base} (${n})`;
    const key = nameKey(name);
    const [folder, file] = await Promise.all([
      tx.folder.findFirst({ where: { parentId, nameKey: key, trashedAt: null }, select: { id: true } }),
      tx.file.findFirst({ where: { folderId: parentId, nameKey: key, trashedAt: null }, select: { id: true } }),
    ]);
    if (!folder && !file) return name;
  }
}

/**
 * Moves what `from` owns outside the trash (files with their versions and thumbnails, folders)
 * under a new folder in the receiver's root and makes the receiver its owner. The objects stay
 * where they are: only rows change. The trash stays with `from`, so it is deleted (rows and
 * objects) with the account. Refused when the receiver's quota cannot take what is given. Needs
 * the receiver's storage lock (lockStorage).
 */
async function giveItems(services: Services, tx: Tx, from: ManagedUser, to: { id: string; name: string }, settings: Settings) {
  const bytes = await liveBytes(tx, from.id);
  // The caller holds the receiver's storage lock: uploads and copies into it wait meanwhile.
  const usage = await storageUsage(services, to.id, tx, settings);
  if (usage.quotaBytes !== null && usage.usedBytes + bytes > usage.quotaBytes) {
    countQuotaRefusal("handover");
    const left = Math.max(0, usage.quotaBytes - usage.usedBytes);
    const message = `${to.name}'s storage cannot take ${from.name}'s files: they need ${formatBytes(bytes)} and ${to.name} has ${formatBytes(left)} left. Raise ${to.name}'s quota first, or choose to delete the files. Nothing was deleted.`;
    throw new ConflictError(message, { files: message });
  }
  const fromRoot = await tx.folder.findFirst({ where: { ownerId: from.id, parentId: null }, select: { id: true } });
  const toRoot =
    (await tx.folder.findFirst({ where: { ownerId: to.id, parentId: null }, select: { id: true } })) ??
    (await tx.folder.create({ data: { ownerId: to.id, parentId: null, name: "", nameKey: "" }, select: { id: true } }));
  const name = await freeName(tx, toRoot.id, fromFolderName(from.name));
  const folder = await tx.folder.create({
    data: { ownerId: to.id, parentId: toRoot.id, name, nameKey: nameKey(name) },
    select: { id: true },
  });
  const live = { ownerId: from.id, trashedAt: null };
  const folderIds = (await tx.folder.findMany({ where: { ...live, parentId: { not: null } }, select: { id: true } })).map(({ id }) => id);
  const fileIds = (await tx.file.findMany({ where: live, select: { id: true } })).map(({ id }) => id);
  if (fromRoot) {
    // The top level moves under the new folder, whose names are unique among themselves already.
    await tx.folder.updateMany({ where: { ...live, parentId: fromRoot.id }, data: { parentId: folder.id } });
    await tx.file.updateMany({ where: { ...live, folderId: fromRoot.id }, data: { folderId: folder.id } });
  }
  await rescueFromTrashedFolders(tx, from.id, folder.id);
  await tx.folder.updateMany({ where: { ...live, parentId: { not: null } }, data: { ownerId: to.id } });
  await tx.file.updateMany({ where: live, data: { ownerId: to.id } });
  // Their WebDAV properties would otherwise go with the old account's row.
  await transferDeadProperties(tx, [...folderIds, ...fileIds], to.id);
  return { rootId: toRoot.id, folderIds: [folder.id, ...folderIds], fileIds };
}

/**
 * A live item inside a trashed folder (which should not happen, but the trash purge allows for
 * it too) would be deleted with that folder: it moves into the given folder instead.
 */
async function rescueFromTrashedFolders(tx: Tx, ownerId: string, intoId: string) {
  const trashedFolders = { ownerId, trashedAt: { not: null } };
  const folders = await tx.folder.findMany({
    where: { ownerId, trashedAt: null, parent: trashedFolders },
    select: { id: true, name: true },
  });
  const files = await tx.file.findMany({ where: { ownerId, trashedAt: null, folder: trashedFolders }, select: { id: true, name: true } });
  for (const stray of folders) {
    const name = await freeItemName(tx, intoId, stray.name);
    await tx.folder.update({ where: { id: stray.id }, data: { parentId: intoId, name, nameKey: nameKey(name) } });
  }
  for (const stray of files) {
    const name = await freeItemName(tx, intoId, stray.name);
    await tx.file.update({ where: { id: stray.id }, data: { folderId: intoId, name, nameKey: nameKey(name) } });
  }
}

/** The moved items are found by their new owner's search. */
async function reindex(services: Services, moved: { folderIds: string[]; fileIds: string[] }) {
  try {
    for (let i = 0; i < moved.folderIds.length; i += 500) {
      const folders = await services.prisma.folder.findMany({ where: { id: { in: moved.folderIds.slice(i, i + 500) } } });
      await services.search.upsert(folders.map(folderSearchDocument));
    }
    for (let i = 0; i < moved.fileIds.length; i += 500) {
      const files = await services.prisma.file.findMany({ where: { id: { in: moved.fileIds.slice(i, i + 500) } } });
      await services.search.upsert(files.map(fileSearchDocument));
    }
  } catch (error) {
    services.log.warn("could not update search for files given to another user", { error });
  }
}
