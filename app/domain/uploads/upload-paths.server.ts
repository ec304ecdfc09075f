import type { Folder } from "~/generated/prisma/client";
import type { Services } from "~/services/index.server";
import { ConflictError, ValidationError, isAppError } from "../errors";
import { insertFolder } from "../files/folders.server";
import { cleanName, nameKey } from "../files/names";

/** How many folders deep a dropped tree may go below the folder it is dropped into. */
export const MAX_UPLOAD_PATH_DEPTH = 32;
const MAX_UPLOAD_PATH_CHARS = 4096;

/**
 * Splits the `relativePath` an uploader sends with a file from a dropped folder ("Photos/2024/")
 * into validated folder names. Empty means "directly in the target folder". Every segment must be
 * a valid name on its own: "..", ".", empty segments ("a//b"), a leading "/", backslashes and
 * control characters are refused with a 400 rather than silently cleaned up.
 */
export function parseUploadPath(raw: string | null | undefined): string[] {
  if (raw === undefined || raw === null || raw === "") return [];
  if (raw.length > MAX_UPLOAD_PATH_CHARS) throw new ValidationError("The folder path of this upload is too long.");
  if (raw.startsWith("/")) throw new ValidationError(`The folder path "${printable(raw)}" must be relative (no leading "/").`);
  const trimmed = raw.endsWith("/") ? raw.slice(0, -1) : raw;
  const segments = trimmed.split("/");
  if (segments.length > MAX_UPLOAD_PATH_DEPTH) {
    throw new ValidationError(`The folder path is ${segments.length} folders deep; at most ${MAX_UPLOAD_PATH_DEPTH} are allowed.`);
  }
  return segments.map((segment) => {
    try {
      // cleanName trims; a segment that is only spaces would then be empty and is refused.
      return cleanName(segment, "A folder name");
    } catch (error) {
      if (isAppError(error)) throw new ValidationError(`Bad folder path "${printable(raw)}": ${error.message}`);
      throw error;
    }
  });
}

/** Control and invisible characters are shown escaped so that the error message itself stays readable. */
function printable(value: string): string {
  return value
    .replace(
      /[\u0000-\u001f\u007f-\u009f\u061c\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
    )
    .slice(0, 200);
}

function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string; cause?: { code?: string }; message?: string } | null;
  return e?.code === "P2002" || e?.cause?.code === "23505" || /unique constraint/i.test(e?.message ?? "");
}

/**
 * Finds or creates the folders of `segments` below `base` (which the uploader may write to) and
 * returns the deepest one. Folders belong to the owner of `base`. Matching is by nameKey among
 * live (non-trashed) children, like every other name check. Two uploads of the same dropped
 * tree usually arrive at once: the partial unique index on (parent_id, name_key) makes one
 * creation win, and the loser reads the winner's folder instead of failing.
 */
export async function resolveUploadFolder(services: Services, base: Folder, segments: string[], actorId?: string): Promise<Folder> {
  let parent = base;
  for (const name of segments) {
    parent = await findOrCreateChild(services, parent, name, actorId);
  }
  return parent;
}

/** The folder a path leads to when every folder of it exists (live) already; null otherwise. */
export async function findUploadFolder(services: Services, base: Folder, segments: string[]): Promise<Folder | null> {
  let parent: Folder | null = base;
  for (const name of segments) {
    parent = await services.prisma.folder.findFirst({ where: { parentId: parent.id, nameKey: nameKey(name), trashedAt: null } });
    if (!parent) return null;
  }
  return parent;
}

async function findOrCreateChild(services: Services, parent: Folder, name: string, actorId?: string): Promise<Folder> {
  const key = nameKey(name);
  const find = () => services.prisma.folder.findFirst({ where: { parentId: parent.id, nameKey: key, trashedAt: null } });
  for (let attempt = 0; attempt < 3; attempt++) {
    const existing = await find();
    if (existing) return existing;
    const file = await services.prisma.file.findFirst({
      where: { folderId: parent.id, nameKey: key, trashedAt: null },
      select: { id: true },
    });
    if (file) throw new ConflictError(`A file named "${name}" is in the way of the folder "${name}" of this upload.`);
    try {
      const folder = await insertFolder(services, parent, name, actorId ?? null);
      await services.search
        .upsert([
          {
            id: folder.id,
            ownerId: folder.ownerId,
            kind: "folder",
            name: folder.name,
            folderId: parent.id,
            mimeType: null,
            size: null,
            updatedAt: folder.updatedAt,
          },
        ])
        .catch((error: unknown) => services.log.warn("could not index a folder created by an upload", { folderId: folder.id, error }));
      services.notifier.toUser(folder.ownerId, { type: "folder:changed", folderId: parent.id });
      return folder;
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      // Someone else created it in the meantime: loop and read theirs.
    }
  }
  const winner = await find();
  if (winner) return winner;
  throw new ConflictError(`The folder "${name}" could not be created. Please try again.`);
}
