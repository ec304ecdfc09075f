import type { Readable } from "node:stream";
import { ZipFile } from "yazl";
import type { Services } from "~/services/index.server";
import { countUsage } from "../analytics/usage.server";
import { noteContentRead } from "../storage-tiers/cold-tier.server";
import { servableKeys } from "./malware-scans.server";

/** One entry of an archive: a folder (path ends without "/") or a stored file. */
export type ZipEntry =
  | { kind: "folder"; path: string; mtime: Date }
  | { kind: "file"; path: string; mtime: Date; size: number; storageKey: string }
  /** Bytes made while the archive is written (e.g. JSON paged from the database); compressed. */
  | { kind: "generated"; path: string; mtime: Date; open: () => Readable };

const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * A name that is safe as one path segment inside an archive: no control characters, no
 * separators, never "." or "..", not empty, at most 255 bytes.
 */
export function safeZipSegment(raw: string): string {
  let name = raw.normalize("NFC").replace(CONTROL_CHARACTERS, "").replace(/[\\/]/g, "_").trim();
  // Leading dots are kept for ordinary names (".env"), but a name of dots only is not a name.
  if (/^\.*$/.test(name)) name = name.length === 0 ? "unnamed" : "_".repeat(name.length);
  while (Buffer.byteLength(name, "utf8") > 255) name = Array.from(name).slice(0, -1).join("");
  return name;
}

/** "report.pdf" → "report (1).pdf", "archive" → "archive (1)". */
function numbered(name: string, n: number): string {
  const dot = name.lastIndexOf(".");
  const hasExtension = dot > 0 && dot < name.length - 1;
  return hasExtension ? `${name.slice(0, dot)} (${n})${name.slice(dot)}` : `${name} (${n})`;
}

/** Hands out names unique within one archive directory, case-insensitively. */
export class DirectoryNames {
  private readonly taken = new Set<string>();

  claim(raw: string): string {
    const base = safeZipSegment(raw);
    for (let n = 0; ; n++) {
      const candidate = n === 0 ? base : numbered(base, n);
      const key = candidate.normalize("NFC").toLowerCase();
      if (!this.taken.has(key)) {
        this.taken.add(key);
        return candidate;
      }
    }
  }
}

/**
 * The archive layout of a folder subtree (items in the trash left out): every folder (empty
 * ones included) and every file, with safe names unique within each directory. The root
 * folder itself is not an entry: its contents are at the top of the archive.
 */
export async function folderZipEntries(services: Services, rootFolderId: string): Promise<ZipEntry[]> {
  const folders = await services.prisma.$queryRaw<
    Array<{ id: string; name: string; parent_id: string | null; updated_at: Date; depth: number }>
  >`
    WITH RECURSIVE tree AS (
      SELECT id, name, parent_id, updated_at, created_at, 0 AS depth FROM folders WHERE id = ${rootFolderId} AND trashed_at IS NULL
      UNION ALL
      SELECT f.id, f.name, f.parent_id, f.updated_at, f.created_at, tree.depth + 1 FROM folders f JOIN tree ON f.parent_id = tree.id
      WHERE f.trashed_at IS NULL AND tree.depth < 1000
    )
    SELECT id, name, parent_id, updated_at, depth FROM tree ORDER BY depth, created_at, id`;
  if (folders.length === 0) return [];
  const folderIds = folders.map((folder) => folder.id);
  const files = await services.prisma.file.findMany({
    where: { folderId: { in: folderIds }, trashedAt: null },
    // On a name clash inside the archive, the older item keeps the plain name.
    orderBy: [{ createdAt: "asc" }, { id: "asc" }],
    select: { folderId: true, name: true, size: true, storageKey: true, updatedAt: true },
  });

  const prefix = new Map<string, string>([[rootFolderId, ""]]);
  const names = new Map<string, DirectoryNames>([[rootFolderId, new DirectoryNames()]]);
  const entries: ZipEntry[] = [];
  // Parents come before children (ordered by depth). Folders claim names before files in the same
  // directory, so a folder keeps its name and a clashing file becomes "name (1)".
  for (const folder of folders) {
    if (folder.id === rootFolderId || folder.parent_id === null) continue;
    const parentPrefix = prefix.get(folder.parent_id);
    const siblings = names.get(folder.parent_id);
    if (parentPrefix === undefined || !siblings) continue;
    const path = `${parentPrefix}${siblings.claim(folder.name)}`;
    prefix.set(folder.id, `${path}/`);
    names.set(folder.id, new DirectoryNames());
    entries.push({ kind: "folder", path, mtime: folder.updated_at });
  }
  for (const file of files) {
    const folderPrefix = prefix.get(file.folderId);
    const siblings = names.get(file.folderId);
    if (folderPrefix === undefined || !siblings) continue;
    entries.push({
      kind: "file",
      path: `${folderPrefix}${siblings.claim(file.name)}`,
      mtime: file.updatedAt,
      size: Number(file.size),
      storageKey: file.storageKey,
    });
  }
  return entries;
}

/**
 * Streams the entries as a ZIP, built as it is sent: nothing is written to disk, and only one
 * stored object is open at a time (each is opened when the archive reaches it). Files are
 * STORED (most are compressed already); ZIP64 records are used when sizes or offsets need them.
 */
export function zipStream(services: Services, entries: ZipEntry[]): Readable {
  // One download; its bytes are not known before it is built, so they are not counted.
  countUsage(services, "downloads");
  const zip = new ZipFile();
  const output = zip.outputStream as Readable;
  zip.on("error", (error: unknown) => {
    services.log.error("zip stream failed", { error });
    output.destroy(error instanceof Error ? error : new Error(String(error)));
  });
  for (const entry of entries) {
    if (entry.kind === "folder") {
      zip.addEmptyDirectory(entry.path, { mtime: entry.mtime });
    } else if (entry.kind === "generated") {
      zip.addReadStreamLazy(entry.path, { mtime: entry.mtime, compress: true }, (callback) => callback(null, entry.open()));
    } else if (entry.size === 0) {
      zip.addBuffer(Buffer.alloc(0), entry.path, { mtime: entry.mtime, compress: false });
    } else {
      zip.addReadStreamLazy(entry.path, { mtime: entry.mtime, compress: false, size: entry.size }, (callback) => {
        services.storage.get(entry.storageKey).then(
          (stream) => {
            void noteContentRead(services, entry.storageKey);
            callback(null, stream);
          },
          (error: unknown) => callback(error, undefined as unknown as NodeJS.ReadableStream),
        );
      });
    }
  }
  zip.end();
  return output;
}

/**
 * The entries an archive may hold: files whose bytes are quarantined, or (scanning on) not yet
 * scanned clean, are left out (decision 0040).
 */
export async function servableZipEntries(services: Services, entries: ZipEntry[]): Promise<ZipEntry[]> {
  const keys = entries.flatMap((entry) => (entry.kind === "file" ? [entry.storageKey] : []));
  const servable = await servableKeys(services, keys);
  return entries.filter((entry) => entry.kind !== "file" || servable.has(entry.storageKey));
}

/** A ZIP of a folder subtree, streamed. */
export async function zipFolder(services: Services, rootFolderId: string): Promise<Readable> {
  const entries = await servableZipEntries(services, await folderZipEntries(services, rootFolderId));
  await assertStoreAnswers(services, entries);
  return zipStream(services, entries);
}

/**
 * Asks the store about the archive's first stored file before its 200 goes out, so a store that
 * is down answers 503 (DependencyUnavailableError) instead of an archive cut at its first file.
 */
export async function assertStoreAnswers(services: Services, entries: ZipEntry[]): Promise<void> {
  const first = entries.find((entry) => entry.kind === "file" && entry.size > 0);
  if (first?.kind === "file") await services.storage.stat(first.storageKey);
}

/** One selected top-level item of a selection archive (already checked readable and live). */
export type SelectionItem =
  | { kind: "folder"; id: string; name: string; mtime: Date }
  | { kind: "file"; id: string; name: string; mtime: Date; size: number; storageKey: string };

/**
 * The archive layout of an arbitrary selection: each selected file at the top of the archive,
 * each selected folder as a top-level directory with its live subtree below it. Names are safe
 * and unique at every level (folders claim names before files, like in folderZipEntries).
 */
export async function selectionZipEntries(services: Services, items: SelectionItem[]): Promise<ZipEntry[]> {
  const top = new DirectoryNames();
  const entries: ZipEntry[] = [];
  const ordered = [...items.filter((item) => item.kind === "folder"), ...items.filter((item) => item.kind === "file")];
  for (const item of ordered) {
    const name = top.claim(item.name);
    if (item.kind === "file") {
      entries.push({ kind: "file", path: name, mtime: item.mtime, size: item.size, storageKey: item.storageKey });
      continue;
    }
    entries.push({ kind: "folder", path: name, mtime: item.mtime });
    for (const entry of await folderZipEntries(services, item.id)) entries.push({ ...entry, path: `${name}/${entry.path}` });
  }
  return entries;
}
