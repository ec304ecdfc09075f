// The vocabulary every file and folder operation shares: item kinds, conflict policies, and
// looking up an item the actor may read or change. Rename and move are in `rename-move.server`,
// copy in `copy.server`, name conflicts in `name-conflicts.server`.
import { randomBytes } from "node:crypto";
import { z } from "zod";
import type { File as FileRecord, Folder } from "~/generated/prisma/client";
import type { Services } from "~/services/index.server";
import type { SessionUser } from "../accounts/sessions.server";
import { NotFoundError, ValidationError } from "../errors";
import { type AccessTarget, assertCanRead, assertCanWrite } from "../sharing/access.server";

export type Actor = Pick<SessionUser, "id" | "role">;

export type ItemKind = "file" | "folder";
export const itemKindSchema = z.enum(["file", "folder"]);

/** What to do when the target name is already taken in the destination folder. */
export const conflictPolicySchema = z.enum(["keep-both", "replace", "cancel"]);
export type ConflictPolicy = z.infer<typeof conflictPolicySchema>;

export type Item = { kind: "file"; file: FileRecord } | { kind: "folder"; folder: Folder };

export function parsePolicy(raw: unknown): ConflictPolicy {
  const parsed = conflictPolicySchema.safeParse(raw ?? "cancel");
  if (!parsed.success) {
    throw new ValidationError("Choose what to do when the name is taken: keep both, replace or cancel.", {
      policy: "Choose keep both, replace or cancel.",
    });
  }
  return parsed.data;
}

export function parseKind(raw: unknown): ItemKind {
  const parsed = itemKindSchema.safeParse(raw);
  if (!parsed.success) throw new NotFoundError("That item");
  return parsed.data;
}

export function newStorageKey(): string {
  return randomBytes(16).toString("hex");
}

function what(kind: ItemKind) {
  return kind === "file" ? "That file" : "That folder";
}

/** A live (not trashed) item the actor may read; NotFound otherwise, never revealing it exists. */
export async function getReadableItem(services: Services, actor: Actor, kind: ItemKind, id: string): Promise<Item> {
  if (kind === "file") {
    const file = await services.prisma.file.findUnique({ where: { id } });
    if (!file || file.trashedAt) throw new NotFoundError(what(kind));
    await assertCanRead(services, actor, accessTarget({ kind, file }), what(kind));
    return { kind, file };
  }
  const folder = await services.prisma.folder.findUnique({ where: { id } });
  if (!folder || folder.trashedAt) throw new NotFoundError(what(kind));
  await assertCanRead(services, actor, accessTarget({ kind, folder }), what(kind));
  return { kind, folder };
}

/** A live item the actor may change. The root folder is never renamed, moved or trashed. */
export async function getWritableItem(services: Services, actor: Actor, kind: ItemKind, id: string): Promise<Item> {
  const item = await getReadableItem(services, actor, kind, id);
  await assertCanWrite(services, actor, accessTarget(item));
  if (item.kind === "folder" && item.folder.parentId === null) {
    throw new ValidationError("Your top folder (“My files”) cannot be renamed, moved, copied or trashed.");
  }
  return item;
}

export function accessTarget(item: Item): AccessTarget {
  return item.kind === "file"
    ? { kind: "file", id: item.file.id, ownerId: item.file.ownerId, folderId: item.file.folderId }
    : { kind: "folder", id: item.folder.id, ownerId: item.folder.ownerId };
}

export function ownerOf(item: Item): string {
  return item.kind === "file" ? item.file.ownerId : item.folder.ownerId;
}
export function nameOf(item: Item): string {
  return item.kind === "file" ? item.file.name : item.folder.name;
}
export function parentOf(item: Item): string {
  return item.kind === "file" ? item.file.folderId : item.folder.parentId!;
}

export interface OperationResult {
  kind: ItemKind;
  /** The item that now holds the content: the renamed/moved/copied item, or the replaced file. */
  id: string;
  name: string;
  parentId: string;
  replaced: boolean;
}
