// Name conflicts in a destination folder: finding the occupant, a free numbered name, the
// keep-both / replace / cancel decision, and retrying when a concurrent change took the name.
import type { File as FileRecord, Prisma } from "~/generated/prisma/client";
import type { Services } from "~/services/index.server";
import { ConflictError, ValidationError } from "../errors";
import { nameKey, numberedName } from "./names";
import type { ConflictPolicy, Item, ItemKind } from "./operations.server";

type Db = Prisma.TransactionClient;

const MAX_NUMBERED_ATTEMPTS = 1000;

type Occupant = { kind: ItemKind; id: string; name: string };

/** The live item named like `name` (case- and normalisation-insensitively) in `parentId`, if any. */
export async function findOccupant(db: Db, parentId: string, name: string, excludeId?: string): Promise<Occupant | null> {
  const key = nameKey(name);
  const notSelf = excludeId ? { id: { not: excludeId } } : {};
  const folder = await db.folder.findFirst({
    where: { parentId, nameKey: key, trashedAt: null, ...notSelf },
    select: { id: true, name: true },
  });
  if (folder) return { kind: "folder", ...folder };
  const file = await db.file.findFirst({
    where: { folderId: parentId, nameKey: key, trashedAt: null, ...notSelf },
    select: { id: true, name: true },
  });
  return file ? { kind: "file", ...file } : null;
}

/** The first of name, "name (1)", "name (2)", … that is free in `parentId`. */
export async function freeName(db: Db, parentId: string, name: string, excludeId?: string): Promise<string> {
  for (let n = 0; n < MAX_NUMBERED_ATTEMPTS; n++) {
    const candidate = n === 0 ? name : numberedName(name, n);
    if (!(await findOccupant(db, parentId, candidate, excludeId))) return candidate;
  }
  throw new ConflictError(`Too many items named like “${name}” in this folder. Choose another name.`);
}

function conflictMessage(name: string, folderLabel: string) {
  return new ConflictError(`“${name}” already exists in ${folderLabel}. Choose another name, keep both, or replace it.`, {
    name: `“${name}” already exists there.`,
  });
}

function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string; message?: string; cause?: { code?: string } };
  return e?.code === "P2002" || e?.cause?.code === "23505" || /unique constraint/i.test(e?.message ?? "");
}

/** Runs `attempt` again when a concurrent change took the name between our check and our write. */
export async function retryOnNameRace<T>(attempt: () => Promise<T>, policy: ConflictPolicy, name: string): Promise<T> {
  for (let i = 0; i < 5; i++) {
    try {
      return await attempt();
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      if (policy === "cancel") throw conflictMessage(name, "this folder");
    }
  }
  throw new ConflictError(`“${name}” is being changed by someone else right now. Please try again.`);
}

export function assertReplaceAllowed(item: Item, policy: ConflictPolicy) {
  if (policy === "replace" && item.kind === "folder") {
    throw new ValidationError("Folders cannot replace other folders. Choose “keep both” or “cancel”.", {
      policy: "Replace is only available for files.",
    });
  }
}

type Resolution = { kind: "free"; name: string } | { kind: "replace"; target: FileRecord };

/** Decides, inside the transaction, the name to use or the file to replace. */
export async function resolveName(
  db: Db,
  excludeId: string | undefined,
  parentId: string,
  name: string,
  policy: ConflictPolicy,
  folderLabel: string,
): Promise<Resolution> {
  const occupant = await findOccupant(db, parentId, name, excludeId);
  if (!occupant) return { kind: "free", name };
  if (policy === "cancel") throw conflictMessage(occupant.name, folderLabel);
  if (policy === "keep-both") return { kind: "free", name: await freeName(db, parentId, name) };
  if (occupant.kind === "folder") {
    throw new ConflictError(
      `A folder named “${occupant.name}” is already in ${folderLabel}; a file cannot replace a folder. Choose “keep both” or another name.`,
      {
        name: `A folder named “${occupant.name}” is already there.`,
      },
    );
  }
  return { kind: "replace", target: await db.file.findUniqueOrThrow({ where: { id: occupant.id } }) };
}

export async function folderLabel(services: Services, folderId: string): Promise<string> {
  const folder = await services.prisma.folder.findUnique({ where: { id: folderId }, select: { name: true, parentId: true } });
  return !folder || folder.parentId === null ? "My files" : `“${folder.name}”`;
}
