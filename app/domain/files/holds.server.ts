// Legal holds, as every deletion path checks them (decision 0041, docs/retention-and-holds.md).
// A hold on a user covers all they own; on a folder, its subtree (including what is moved in
// later); on a file, the file and its versions. Deleting a folder deletes its subtree, so a folder
// is held for deletion when a hold covers it or anything inside it. The SQL functions of the
// migration decide coverage, so these checks and the triggers under them always agree.
// Retention rules that keep files ("keep at least N days", decision 0045) ride on the same checks:
// a kept file is refused like a held one (a RetainedError, saying until when), and the same
// filters leave it alone in the purges.
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

/** What a deletion refused by a keep-at-least retention rule throws (a HeldError, so every skip of held items skips it too). */
export class RetainedError extends HeldError {
  readonly retainedUntil: Date | null;
  constructor(what = "This item", until: Date | null = null) {
    super(what);
    this.retainedUntil = until;
    const date = until ? until.toISOString().slice(0, 10) : null;
    this.message = `${what} is kept by a retention rule${date ? ` until ${date}` : ""}, so it cannot be deleted, purged or moved out of its folder. Nothing was changed.`;
  }
}

/** The message the triggers raise (SQLSTATE LH001) when a path slipped past the checks. */
const TRIGGER_MARK = "coffer_legal_hold";
/** The retention triggers' (SQLSTATE RT001), with the date the rule keeps the file until. */
const RETENTION_MARK = "coffer_retention";

/**
 * The HeldError for a database error the hold triggers raised; null for anything else. The
 * error boundaries of pages, the API and WebDAV use it, so even an unchecked path answers 409.
 */
export function holdFault(error: unknown): HeldError | null {
  if (!(error instanceof Error)) return null;
  const meta = (error as { meta?: unknown }).meta;
  const text = `${error.message} ${meta ? JSON.stringify(meta) : ""}`;
  if (text.includes(TRIGGER_MARK) || /\bLH001\b/.test(text)) return new HeldError();
  if (text.includes(RETENTION_MARK) || /\bRT001\b/.test(text)) {
    const date = /kept until (\d{4}-\d{2}-\d{2})/.exec(text)?.[1];
    return new RetainedError("This item", date ? new Date(`${date}T00:00:00Z`) : null);
  }
  return null;
}

/** Rethrows a trigger's refusal as a HeldError (and anything else as it was). */
export function rethrowHeld(error: unknown): never {
  throw holdFault(error) ?? error;
}

/** Whether any hold or keep-at-least rule is active (otherwise nothing can be held). */
async function anyActiveHold(db: Db): Promise<boolean> {
  const rows = await db.$queryRaw<unknown[]>`
    SELECT 1 WHERE EXISTS (SELECT 1 FROM legal_holds WHERE released_at IS NULL)
      OR EXISTS (SELECT 1 FROM retention_rules WHERE removed_at IS NULL AND kind = 'keep_at_least')`;
  return rows.length > 0;
}

/** Until when a keep-at-least rule keeps this item (for a folder: anything in it); null when none does now. */
export async function retainedUntil(db: Db, kind: ItemKind, id: string): Promise<Date | null> {
  const rows =
    kind === "file"
      ? await db.$queryRaw<Array<{ until: Date | null }>>`
          SELECT retention_kept_until(f.folder_id, f.created_at) AS until FROM files f WHERE f.id = ${id}
            AND retention_keeps(f.folder_id, f.created_at)`
      : await db.$queryRaw<Array<{ until: Date | null }>>`SELECT retention_kept_within(${id}) AS until`;
  return rows[0]?.until ?? null;
}

/** Until when retention keeps each of these files (only the kept ones are in the map): details show it. */
export async function retainedFileDates(db: Db, ids: readonly string[]): Promise<Map<string, Date>> {
  if (ids.length === 0) return new Map();
  const rows = await db.$queryRaw<Array<{ id: string; until: Date }>>`
    SELECT f.id, retention_kept_until(f.folder_id, f.created_at) AS until FROM files f
    WHERE f.id = ANY(${[...ids]}::text[]) AND EXISTS (SELECT 1 FROM retention_rules WHERE removed_at IS NULL AND kind = 'keep_at_least')
      AND retention_keeps(f.folder_id, f.created_at)`;
  return new Map(rows.map((row) => [row.id, row.until]));
}

/** The files among `ids` that a hold covers (themselves, their folders, their owner). */
export async function heldFileIds(db: Db, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0 || !(await anyActiveHold(db))) return new Set();
  const rows = await db.$queryRaw<Array<{ id: string }>>`
    SELECT f.id FROM files f WHERE f.id = ANY(${[...ids]}::text[])
      AND (legal_hold_covers(f.owner_id, f.folder_id, f.id) OR retention_keeps(f.folder_id, f.created_at))`;
  return new Set(rows.map((row) => row.id));
}

/** The folders among `ids` that a hold covers, or that hold something held (deleting them would delete it). */
export async function heldFolderIds(db: Db, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0 || !(await anyActiveHold(db))) return new Set();
  const rows = await db.$queryRaw<Array<{ id: string }>>`
    SELECT f.id FROM folders f WHERE f.id = ANY(${[...ids]}::text[])
      AND (legal_hold_covers(f.owner_id, f.id, NULL) OR legal_hold_within(f.id) OR retention_kept_within(f.id) IS NOT NULL)`;
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
  if (!(await isHeld(db, kind, id))) return;
  const what = name ? `“${name}”` : kind === "file" ? "This file" : "This folder";
  const heldOnly = kind === "file" ? await legallyHeldFiles(db, [id]) : await legallyHeldFolders(db, [id]);
  if (heldOnly) throw new HeldError(what);
  throw new RetainedError(what, await retainedUntil(db, kind, id));
}

async function legallyHeldFiles(db: Db, ids: string[]): Promise<boolean> {
  const rows = await db.$queryRaw<unknown[]>`
    SELECT 1 FROM files f WHERE f.id = ANY(${ids}::text[]) AND legal_hold_covers(f.owner_id, f.folder_id, f.id) LIMIT 1`;
  return rows.length > 0;
}

async function legallyHeldFolders(db: Db, ids: string[]): Promise<boolean> {
  const rows = await db.$queryRaw<unknown[]>`
    SELECT 1 FROM folders f WHERE f.id = ANY(${ids}::text[])
      AND (legal_hold_covers(f.owner_id, f.id, NULL) OR legal_hold_within(f.id)) LIMIT 1`;
  return rows.length > 0;
}

/** Whether any active hold covers something the user owns (or the user): the account cannot go. */
export async function accountIsHeld(db: Db, userId: string): Promise<boolean> {
  const rows = await db.$queryRaw<unknown[]>`
    SELECT 1 FROM legal_holds WHERE released_at IS NULL AND owner_id = ${userId} LIMIT 1`;
  return rows.length > 0;
}

/** Until when a keep-at-least rule keeps a file the user owns (the account cannot go before); null if none. */
export async function accountRetainedUntil(db: Db, userId: string): Promise<Date | null> {
  const rows = await db.$queryRaw<Array<{ until: Date | null }>>`
    SELECT max(retention_kept_within(r.target_id)) AS until FROM retention_rules r
    WHERE r.removed_at IS NULL AND r.kind = 'keep_at_least' AND r.owner_id = ${userId}`;
  return rows[0]?.until ?? null;
}

export async function assertAccountNotHeld(db: Db, userId: string): Promise<void> {
  if (await accountIsHeld(db, userId)) {
    throw new HeldError("This account (or something in it)");
  }
  const until = await accountRetainedUntil(db, userId);
  if (until) throw new RetainedError("This account (or something in it)", until);
}

/** A held-row filter for raw purge queries: files (alias) a hold covers are left alone. */
export function fileNotHeld(alias: string): Prisma.Sql {
  const a = Prisma.raw(alias);
  return Prisma.sql`NOT (legal_hold_covers(${a}.owner_id, ${a}.folder_id, ${a}.id) OR retention_keeps(${a}.folder_id, ${a}.created_at))`;
}

/** As fileNotHeld, for folders: neither covered nor holding something held. */
export function folderNotHeld(alias: string): Prisma.Sql {
  const a = Prisma.raw(alias);
  return Prisma.sql`NOT (legal_hold_covers(${a}.owner_id, ${a}.id, NULL) OR legal_hold_within(${a}.id)
    OR retention_kept_within(${a}.id) IS NOT NULL)`;
}
