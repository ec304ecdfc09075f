// A person's own data, exported: everything Coffer holds about them as one streamed ZIP, and
// the summary of their files on the privacy page. Deleting an account is in
// `account-deletion.server`.
import { Readable } from "node:stream";
import type { SessionUser } from "~/domain/accounts/sessions.server";
import { type AuditActor, recordAudit } from "~/domain/audit/audit.server";
import { assertStoreAnswers, DirectoryNames, servableZipEntries, type ZipEntry, zipStream } from "~/domain/files/zip.server";
import type { Services } from "~/services/index.server";

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

  const [sessions, passkeys, shareLinks, sharesGiven, sharesReceived, usageDays] = await Promise.all([
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
    // One row per day at most: small enough to hold.
    services.prisma.userUsageDaily.findMany({
      where: { userId },
      orderBy: { day: "asc" },
      select: { day: true, active: true, storedBytes: true },
    }),
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
    /** The daily figures the administrators' analytics keep of this account. */
    usageDays: usageDays.map((row) => ({
      day: row.day.toISOString().slice(0, 10),
      active: row.active,
      storedBytes: Number(row.storedBytes),
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

/** How many files the user keeps and their total size, for the privacy page. */
export async function storedFilesOf(services: Services, userId: string): Promise<{ files: number; bytes: number }> {
  const [files, bytes] = await Promise.all([
    services.prisma.file.count({ where: { ownerId: userId } }),
    services.prisma.file.aggregate({ where: { ownerId: userId }, _sum: { size: true } }),
  ]);
  return { files, bytes: Number(bytes._sum.size ?? 0) };
}

/**
 * Everything of the user as one ZIP, streamed; records the export in the audit log. A store that
 * is down answers 503 before anything is recorded or sent, not an archive cut at its first file.
 */
export async function exportAccount(services: Services, user: SessionUser, actor: AuditActor): Promise<Readable> {
  // Quarantined (and, scanning on, not yet scanned) files are left out, as from every archive.
  const entries = await servableZipEntries(services, await exportEntries(services, user.id));
  await assertStoreAnswers(services, entries);
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
