import type { Services } from "~/services/index.server";
import { isAppError, NotFoundError, ValidationError } from "../errors";
import { copyItem } from "./copy.server";
import { getReadableItem, nameOf, type ConflictPolicy, type ItemKind } from "./operations.server";
import { moveItem } from "./rename-move.server";
import type { SessionUser } from "../accounts/sessions.server";
import { restoreItem, trashItem } from "./trash.server";
import { assertStoreAnswers, selectionZipEntries, servableZipEntries, zipStream, type SelectionItem } from "./zip.server";

type Actor = Pick<SessionUser, "id" | "role">;

/** Most items one bulk request may name. */
export const MAX_BULK_ITEMS = 1000;
/** Most folders offered as a destination on the bulk move/copy page. */

export type BulkRef = { kind: ItemKind; id: string };
export type BulkOperation = "move" | "copy" | "trash" | "restore";

/** "file:<id>" / "folder:<id>" values (repeated "item" fields) → unique references; junk is ignored. */
export function parseSelection(values: Iterable<unknown>): BulkRef[] {
  const seen = new Set<string>();
  const refs: BulkRef[] = [];
  for (const value of values) {
    if (typeof value !== "string") continue;
    const match = /^(file|folder):([A-Za-z0-9_-]{1,100})$/.exec(value.trim());
    if (!match || seen.has(value.trim())) continue;
    seen.add(value.trim());
    refs.push({ kind: match[1] as ItemKind, id: match[2] });
  }
  if (refs.length === 0) throw new ValidationError("Select at least one file or folder first.", { item: "Select at least one item." });
  if (refs.length > MAX_BULK_ITEMS)
    throw new ValidationError(`Select at most ${MAX_BULK_ITEMS} items at a time.`, { item: "Too many items." });
  return refs;
}

export interface BulkItemResult {
  kind: ItemKind;
  id: string;
  /** The item's name when the user may see it; null for items not found. */
  name: string | null;
  ok: boolean;
  /** Short reason for a skipped item. */
  reason?: string;
  status?: number;
}

export interface BulkOutcome {
  operation: BulkOperation;
  done: number;
  skipped: number;
  results: BulkItemResult[];
  message: string;
}

function items(count: number) {
  return `${count} ${count === 1 ? "item" : "items"}`;
}

const DONE: Record<BulkOperation, (count: number) => string> = {
  move: (count) => `Moved ${items(count)}`,
  copy: (count) => `Copied ${items(count)}`,
  trash: (count) => `Moved ${items(count)} to the trash`,
  restore: (count) => `Restored ${items(count)}`,
};

/** A short reason from a domain error: "“a.txt” already exists" rather than the whole advice. */
function shortReason(error: unknown, name: string | null): { reason: string; status: number } {
  if (error instanceof NotFoundError) return { reason: name ? `“${name}” was not found` : "an item was not found", status: 404 };
  if (isAppError(error)) {
    const exists = /^(\u201C.*?\u201D already exists)/.exec(error.message);
    if (exists) return { reason: exists[1], status: error.status };
    const text = error.message.replace(/\.$/, "");
    return { reason: name && !text.includes(name) ? `“${name}”: ${text}` : text, status: error.status };
  }
  throw error;
}

export function summarize(operation: BulkOperation, results: BulkItemResult[]): string {
  const done = results.filter((r) => r.ok).length;
  const skipped = results.filter((r) => !r.ok);
  let message = DONE[operation](done);
  if (skipped.length > 0) message += `; ${skipped.length} skipped: ${skipped.map((r) => r.reason).join("; ")}`;
  return `${message}.`;
}

/** The name of an item if the actor may read it, for reporting; null otherwise. */
async function visibleName(services: Services, actor: Actor, ref: BulkRef): Promise<string | null> {
  try {
    return nameOf(await getReadableItem(services, actor, ref.kind, ref.id));
  } catch {
    return null;
  }
}

async function trashedName(services: Services, actor: Actor, ref: BulkRef): Promise<string | null> {
  const row =
    ref.kind === "file"
      ? await services.prisma.file.findFirst({ where: { id: ref.id, ownerId: actor.id }, select: { name: true } })
      : await services.prisma.folder.findFirst({ where: { id: ref.id, ownerId: actor.id }, select: { name: true } });
  return row?.name ?? null;
}

/**
 * Applies one single-item operation to each selected item in turn (each authorised on its own)
 * and collects what happened; one failing item never stops the others.
 */
export async function runBulk<R extends BulkRef>(
  services: Services,
  actor: Actor,
  operation: BulkOperation,
  refs: R[],
  options: {
    destinationId?: string;
    policy?: ConflictPolicy;
    /** Wraps each item's change, e.g. to refuse it when the item is not the version the caller saw. */
    guard?: (ref: R, change: () => Promise<unknown>) => Promise<unknown>;
  } = {},
): Promise<BulkOutcome> {
  if ((operation === "move" || operation === "copy") && !options.destinationId) {
    throw new ValidationError("Choose a destination folder.", { destination: "Choose a folder." });
  }
  const results: BulkItemResult[] = [];
  for (const ref of refs) {
    const name = operation === "restore" ? await trashedName(services, actor, ref) : await visibleName(services, actor, ref);
    const change = async () => {
      switch (operation) {
        case "move":
          await moveItem(services, actor, ref.kind, ref.id, options.destinationId!, options.policy ?? "cancel");
          break;
        case "copy":
          await copyItem(services, actor, ref.kind, ref.id, options.destinationId!, options.policy ?? "cancel");
          break;
        case "trash":
          await trashItem(services, actor, ref.kind, ref.id);
          break;
        case "restore":
          await restoreItem(services, actor, ref.kind, ref.id);
          break;
      }
    };
    try {
      await (options.guard ? options.guard(ref, change) : change());
      results.push({ kind: ref.kind, id: ref.id, name, ok: true });
    } catch (error) {
      const { reason, status } = shortReason(error, name);
      results.push({ kind: ref.kind, id: ref.id, name, ok: false, reason, status });
    }
  }
  const done = results.filter((r) => r.ok).length;
  return { operation, done, skipped: results.length - done, results, message: summarize(operation, results) };
}

/** The selected items the actor may read (live ones only), for display or for an archive. */
export async function readableSelection(services: Services, actor: Actor, refs: BulkRef[]) {
  const found: Array<SelectionItem & { parentId: string | null }> = [];
  let missing = 0;
  for (const ref of refs) {
    try {
      const item = await getReadableItem(services, actor, ref.kind, ref.id);
      if (item.kind === "file") {
        const f = item.file;
        found.push({
          kind: "file",
          id: f.id,
          name: f.name,
          mtime: f.updatedAt,
          size: Number(f.size),
          storageKey: f.storageKey,
          parentId: f.folderId,
        });
      } else {
        const f = item.folder;
        // A user's top folder is zipped as "My files".
        found.push({ kind: "folder", id: f.id, name: f.parentId === null ? "My files" : f.name, mtime: f.updatedAt, parentId: f.parentId });
      }
    } catch (error) {
      if (!isAppError(error)) throw error;
      missing++;
    }
  }
  return { items: found, missing };
}

/** The archive's name: the folder all selected items sit in, or "Coffer files". */
export async function selectionArchiveName(services: Services, items: Array<{ parentId: string | null }>): Promise<string> {
  const parents = new Set(items.map((item) => item.parentId));
  if (parents.size === 1) {
    const [parentId] = parents;
    if (parentId) {
      const folder = await services.prisma.folder.findUnique({ where: { id: parentId }, select: { name: true, parentId: true } });
      if (folder && folder.parentId !== null && folder.name) return `${folder.name}.zip`;
    }
  }
  return "Coffer files.zip";
}

/** A ZIP of the readable selection, streamed as it is built (nothing stored on disk). */
export async function zipSelection(services: Services, actor: Actor, refs: BulkRef[]) {
  const { items } = await readableSelection(services, actor, refs);
  if (items.length === 0) throw new NotFoundError("Those items");
  const filename = await selectionArchiveName(services, items);
  const entries = await servableZipEntries(services, await selectionZipEntries(services, items));
  await assertStoreAnswers(services, entries);
  return { filename, stream: () => zipStream(services, entries) };
}
