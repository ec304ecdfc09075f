import type { Services } from "~/services/index.server";
import { AppError, NotFoundError } from "../errors";
import type { Actor, Item, ItemKind } from "./operations.server";
import { trashRoot } from "./trash.server";

/** The change was asked for against a version of the item that is no longer current. */
export class PreconditionFailedError extends AppError {
  constructor(readonly current: Item) {
    super(412, "The item has changed since you read it. Read it again and retry.");
  }
}

/** Another claim or change got in between the read and the conditional update. */
const CLAIM_ATTEMPTS = 5;

/**
 * Runs `change` only if the item is still the version the caller saw (`isCurrent`), and lets
 * exactly one of two callers holding the same version win. The check is a compare-and-swap on the
 * row: the claim moves `updatedAt` on only where every field the caller could have seen is still
 * the same, so a second claim against that version finds the row changed and fails with
 * PreconditionFailedError. Callers authorise first: this reads the row whatever its state (a
 * trashed item is claimed for restore or delete too). When the change then fails, the claim is
 * undone unless the change had already touched the row.
 */
export async function changeIfCurrent<T>(
  services: Services,
  kind: ItemKind,
  id: string,
  isCurrent: (item: Item) => boolean,
  change: () => Promise<T>,
): Promise<T> {
  const claim = await claimVersion(services, kind, id, isCurrent);
  try {
    return await change();
  } catch (error) {
    await release(services, kind, id, claim);
    throw error;
  }
}

interface Claim {
  before: Date;
  after: Date;
}

async function claimVersion(services: Services, kind: ItemKind, id: string, isCurrent: (item: Item) => boolean): Promise<Claim> {
  for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
    const item = await load(services, kind, id);
    if (!isCurrent(item)) throw new PreconditionFailedError(item);
    const before = item.kind === "file" ? item.file.updatedAt : item.folder.updatedAt;
    // Strictly later, so the version the caller saw can never be current again.
    const after = new Date(Math.max(Date.now(), before.getTime() + 1));
    const { count } =
      item.kind === "file"
        ? await services.prisma.file.updateMany({
            where: {
              id,
              updatedAt: before,
              name: item.file.name,
              folderId: item.file.folderId,
              size: item.file.size,
              mimeType: item.file.mimeType,
              sha256: item.file.sha256,
              trashedAt: item.file.trashedAt,
            },
            data: { updatedAt: after },
          })
        : await services.prisma.folder.updateMany({
            where: { id, updatedAt: before, name: item.folder.name, parentId: item.folder.parentId, trashedAt: item.folder.trashedAt },
            data: { updatedAt: after },
          });
    if (count === 1) return { before, after };
  }
  // The row kept changing under us: whatever the caller saw is not current.
  throw new PreconditionFailedError(await load(services, kind, id));
}

/** An item at the top of the actor's trash, as a record to represent (NotFound otherwise). */
export async function getTrashedItemRecord(services: Services, actor: Actor, kind: ItemKind, id: string): Promise<Item> {
  await trashRoot(services.prisma, actor.id, kind, id);
  return load(services, kind, id);
}

async function load(services: Services, kind: ItemKind, id: string): Promise<Item> {
  if (kind === "file") {
    const file = await services.prisma.file.findUnique({ where: { id } });
    if (!file) throw new NotFoundError("That file");
    return { kind, file };
  }
  const folder = await services.prisma.folder.findUnique({ where: { id } });
  if (!folder) throw new NotFoundError("That folder");
  return { kind, folder };
}

async function release(services: Services, kind: ItemKind, id: string, claim: Claim): Promise<void> {
  const where = { id, updatedAt: claim.after };
  const data = { updatedAt: claim.before };
  if (kind === "file") await services.prisma.file.updateMany({ where, data });
  else await services.prisma.folder.updateMany({ where, data });
}
