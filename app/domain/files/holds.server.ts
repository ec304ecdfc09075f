// Legal holds, as every deletion path checks them (decision 0041, docs/retention-and-holds.md).
// A hold on a user covers all they own; on a folder, its subtree (including what is moved in
// later); on a file, the file and its versions. Deleting a folder deletes its subtree, so a folder
// is held for deletion when a hold covers it or anything inside it. The SQL functions of the
// migration decide coverage, so these checks and the triggers under them always agree.
import { Prisma } from "~/generated/prisma/client";
import { ConflictError } from "../errors";
import type { ItemKind } from "./operations.server";

type Db = Pick<Prisma.TransactionClient, "$queryRaw">;

/** What a refused deletion throws: a 409 saying why, with nothing changed. */
export class HeldError extends ConflictError {
  readonly held = true;
  constructor(what = "This item") {
    super(`${what} is on legal hold, so it cannot be deleted, purged or moved out of its held folder. Nothing was changed.`);
  }
}

/** The message the triggers raise (SQLSTATE LH001) when a path slipped past the checks. */
const TRIGGER_MARK = "coffer_legal_hold";

/**
 * The HeldError for a database error the hold triggers raised; null for anything else. The
 * error boundaries of pages, the API and WebDAV use it, so even an unchecked path answers 409.
 */
export function holdFault(error: unknown): HeldError | null {
  if (!(error instanceof Error)) return null;
  const meta = (error as { meta?: unknown }).meta;
  const text = `${error.message} ${meta ? JSON.stringify(meta) : ""}`;
  return text.includes(TRIGGER_MARK) || /\bLH001\b/.test(text) ? new HeldError() : null;
}

/** Rethrows a trigger's refusal as a HeldError (and anything else as it was). */
export function rethrowHeld(error: unknown): never {
  throw holdFault(error) ?? error;
}

async function anyActiveHold(db: Db): Promise<boolean> {
  const rows = await db.$queryRaw<unknown[]>`SELECT 1 FROM legal_holds WHERE released_at IS NULL LIMIT 1`;
  return rows.length > 0;
}

/** The files among `ids` that a hold covers (themselves, their folders, their owner). */
export async function heldFileIds(db: Db, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0 || !(await anyActiveHold(db))) return new Set();
  const rows = await db.$queryRaw<Array<{ id: string }>>`
    SELECT f.id FROM files f WHERE f.id = ANY(${[...ids]}::text[]) AND legal_hold_covers(f.owner_id, f.folder_id, f.id)`;
  return new Set(rows.map((row) => row.id));
}

/** The folders among `ids` that a hold covers, or that hold something held (deleting them would delete it). */
export async function heldFolderIds(db: Db, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0 || !(await anyActiveHold(db))) return new Set();
  const rows = await db.$queryRaw<Array<{ id: string }>>`
    SELECT f.id FROM folders f WHERE f.id = ANY(${[...ids]}::text[])
      AND (legal_hold_covers(f.owner_id, f.id, NULL) OR legal_hold_within(f.id))`;
  return new Set(rows.map((row) => row.id));
}

/** The folders among `ids` a hold covers themselves (the badge; not what is held inside them). */
export async function coveredFolderIds(db: Db, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0 || !(await anyActiveHold(db))) return new Set();
  const rows = await db.$queryRaw<Array<{ id: string }>>`
    SELECT f.id FROM folders f WHERE f.id = ANY(${[...ids]}::text[]) AND legal_hold_covers(f.owner_id, f.id, NULL)`;
  return new Set(rows.map((row) => row.id));
}

/**
 * The items among these that a hold covers, in one statement (listings show their badge): ids of
 * files and folders (cuids never collide between the two).
 */
export async function coveredItemIds(db: Db, fileIds: readonly string[], folderIds: readonly string[]): Promise<Set<string>> {
  if (fileIds.length + folderIds.length === 0) return new Set();
  const rows = await db.$queryRaw<Array<{ id: string }>>`
    WITH active AS (SELECT EXISTS (SELECT 1 FROM legal_holds WHERE released_at IS NULL) AS any)
    SELECT f.id FROM files f, active WHERE active.any AND f.id = ANY(${[...fileIds]}::text[])
      AND legal_hold_covers(f.owner_id, f.folder_id, f.id)
    UNION ALL
    SELECT d.id FROM folders d, active WHERE active.any AND d.id = ANY(${[...folderIds]}::text[])
      AND legal_hold_covers(d.owner_id, d.id, NULL)`;
  return new Set(rows.map((row) => row.id));
}

/** Whether deleting this item would delete something held. */
export async function isHeld(db: Db, kind: ItemKind, id: string): Promise<boolean> {
  const held = kind === "file" ? await heldFileIds(db, [id]) : await heldFolderIds(db, [id]);
  return held.has(id);
}

/** The one check before any deletion of an item (trash, delete for good, purge, replace). */
export async function assertNotHeld(db: Db, kind: ItemKind, id: string, name?: string): Promise<void> {
  if (await isHeld(db, kind, id)) throw new HeldError(name ? `“${name}”` : kind === "file" ? "This file" : "This folder");
}

/** Whether any active hold covers something the user owns (or the user): the account cannot go. */
export async function accountIsHeld(db: Db, userId: string): Promise<boolean> {
  const rows = await db.$queryRaw<unknown[]>`
    SELECT 1 FROM legal_holds WHERE released_at IS NULL AND owner_id = ${userId} LIMIT 1`;
  return rows.length > 0;
}

export async function assertAccountNotHeld(db: Db, userId: string): Promise<void> {
  if (await accountIsHeld(db, userId)) {
    throw new HeldError("This account (or something in it)");
  }
}

/** A held-row filter for raw purge queries: files (alias) a hold covers are left alone. */
export function fileNotHeld(alias: string): Prisma.Sql {
  const a = Prisma.raw(alias);
  return Prisma.sql`NOT legal_hold_covers(${a}.owner_id, ${a}.folder_id, ${a}.id)`;
}

/** As fileNotHeld, for folders: neither covered nor holding something held. */
export function folderNotHeld(alias: string): Prisma.Sql {
  const a = Prisma.raw(alias);
  return Prisma.sql`NOT (legal_hold_covers(${a}.owner_id, ${a}.id, NULL) OR legal_hold_within(${a}.id))`;
}
