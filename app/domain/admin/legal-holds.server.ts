// Placing, listing and releasing legal holds (decision 0041, docs/retention-and-holds.md), for
// /admin/holds and /api/v1/admin/holds. Only administrators; both directions audited with who and
// why. What a hold refuses is checked in files/holds.server and by the database's triggers.
import { z } from "zod";
import type { LegalHold } from "~/generated/prisma/client";
import type { Services } from "~/services/index.server";
import { isBeingErased } from "../accounts/account-deletion.server";
import { type AuditActor, recordAudit } from "../audit/audit.server";
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from "../errors";
import { nameKey } from "../files/names";
import { HOLD_REASON_MAX, HOLD_TARGET_TYPES, type HoldTargetType } from "./legal-holds";

export { HOLD_REASON_MAX, HOLD_TARGET_TYPES, type HoldTargetType };
/** Active holds at most (a hold is a deliberate act; a runaway script should not make thousands). */
export const MAX_ACTIVE_HOLDS = 10_000;

const reason = z
  .string("Give a reason.")
  .trim()
  .min(3, "Give a reason (at least 3 characters).")
  .max(HOLD_REASON_MAX, `At most ${HOLD_REASON_MAX} characters.`)
  .refine((value) => !value.includes("\u0000"), "The reason contains a character that cannot be stored.");

/** What placing a hold takes: the owner's email, then a folder or file by id or by path. */
export const placeHoldInput = z
  .object({
    targetType: z.enum(HOLD_TARGET_TYPES, "Choose user, folder or file."),
    email: z.string("Enter the user's email.").trim().toLowerCase().min(3, "Enter the user's email.").max(320, "That email is too long."),
    /** A folder's or file's id; or give `path`. */
    itemId: z
      .string()
      .trim()
      .max(64, "That id is too long.")
      .regex(/^[A-Za-z0-9_-]*$/, "An id has only letters, digits, - and _.")
      .optional(),
    /** A path below the user's My files, such as /Projects/2024/report.pdf. */
    path: z
      .string()
      .trim()
      .max(4096, "That path is too long.")
      .refine((value) => !value.includes("\u0000"), "The path contains a character that cannot be stored.")
      .optional(),
    reason,
  })
  .strict();

export type PlaceHoldInput = z.input<typeof placeHoldInput>;

export const releaseHoldInput = z.object({ reason }).strict();

export interface HoldView {
  id: string;
  targetType: HoldTargetType;
  targetId: string;
  /** The owner's email (and name), or null when the account is gone. */
  ownerEmail: string | null;
  /** What the hold covers in words: "everything of ada@example.com", "/Projects/2024". */
  targetLabel: string;
  reason: string;
  placedAt: Date;
  placedBy: string;
  releasedAt: Date | null;
  releasedBy: string | null;
  releaseReason: string | null;
}

function assertAdmin(admin: { role: string }) {
  if (admin.role !== "ADMIN") throw new ForbiddenError("Only administrators manage legal holds.");
}

function fieldErrors(error: z.ZodError): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const issue of error.issues) errors[String(issue.path[0] ?? "form")] ??= issue.message;
  return errors;
}

/** The path of a folder below its owner's My files ("/" for My files itself). */
export async function folderPath(services: Pick<Services, "prisma">, folderId: string): Promise<string | null> {
  const rows = await services.prisma.$queryRaw<Array<{ name: string; parent_id: string | null }>>`
    WITH RECURSIVE up AS (
      SELECT id, parent_id, name, 0 AS depth FROM folders WHERE id = ${folderId}
      UNION ALL
      SELECT f.id, f.parent_id, f.name, up.depth + 1 FROM folders f JOIN up ON f.id = up.parent_id WHERE up.depth < 1000
    ) SELECT name, parent_id FROM up ORDER BY depth DESC`;
  if (rows.length === 0) return null;
  return `/${rows
    .filter((row) => row.parent_id !== null)
    .map((row) => row.name)
    .join("/")}`;
}

async function targetLabel(services: Pick<Services, "prisma">, hold: LegalHold, ownerEmail: string | null): Promise<string> {
  if (hold.targetType === "user") return `Everything of ${ownerEmail ?? "a deleted account"}`;
  if (hold.targetType === "folder") {
    const path = await folderPath(services, hold.targetId);
    return path === null ? "A folder that no longer exists" : `Folder ${path}`;
  }
  const file = await services.prisma.file.findUnique({ where: { id: hold.targetId }, select: { name: true, folderId: true } });
  if (!file) return "A file that no longer exists";
  const path = await folderPath(services, file.folderId);
  return `File ${path === "/" ? "" : path}/${file.name}`;
}

/** Holds, active first (newest first), then released ones; at most `limit` of each. */
export async function listHolds(
  services: Pick<Services, "prisma">,
  admin: { role: string },
  options: { limit?: number } = {},
): Promise<{ active: HoldView[]; released: HoldView[] }> {
  assertAdmin(admin);
  const limit = Math.min(Math.max(options.limit ?? 200, 1), 1000);
  const [active, released] = await Promise.all([
    services.prisma.legalHold.findMany({ where: { releasedAt: null }, orderBy: [{ placedAt: "desc" }, { id: "desc" }], take: limit }),
    services.prisma.legalHold.findMany({
      where: { releasedAt: { not: null } },
      orderBy: [{ releasedAt: "desc" }, { id: "desc" }],
      take: limit,
    }),
  ]);
  const ownerIds = [...new Set([...active, ...released].map((hold) => hold.ownerId))];
  const owners = new Map(
    (await services.prisma.user.findMany({ where: { id: { in: ownerIds } }, select: { id: true, email: true } })).map((user) => [
      user.id,
      user.email,
    ]),
  );
  const view = async (hold: LegalHold): Promise<HoldView> => {
    const ownerEmail = owners.get(hold.ownerId) ?? null;
    return {
      id: hold.id,
      targetType: hold.targetType as HoldTargetType,
      targetId: hold.targetId,
      ownerEmail,
      targetLabel: await targetLabel(services, hold, ownerEmail),
      reason: hold.reason,
      placedAt: hold.placedAt,
      placedBy: hold.placedByLabel,
      releasedAt: hold.releasedAt,
      releasedBy: hold.releasedByLabel,
      releaseReason: hold.releaseReason,
    };
  };
  return { active: await Promise.all(active.map(view)), released: await Promise.all(released.map(view)) };
}

export async function getHold(services: Pick<Services, "prisma">, admin: { role: string }, holdId: string): Promise<HoldView> {
  assertAdmin(admin);
  const hold = await services.prisma.legalHold.findUnique({ where: { id: holdId } });
  if (!hold) throw new NotFoundError("That legal hold");
  const owner = await services.prisma.user.findUnique({ where: { id: hold.ownerId }, select: { email: true } });
  const ownerEmail = owner?.email ?? null;
  return {
    id: hold.id,
    targetType: hold.targetType as HoldTargetType,
    targetId: hold.targetId,
    ownerEmail,
    targetLabel: await targetLabel(services, hold, ownerEmail),
    reason: hold.reason,
    placedAt: hold.placedAt,
    placedBy: hold.placedByLabel,
    releasedAt: hold.releasedAt,
    releasedBy: hold.releasedByLabel,
    releaseReason: hold.releaseReason,
  };
}

/** The item a path names below the owner's My files: folders by name, the last part a file or folder. */
export async function resolvePath(
  services: Pick<Services, "prisma">,
  ownerId: string,
  kind: "folder" | "file",
  path: string,
): Promise<string | null> {
  const parts = path.split("/").filter((part) => part.length > 0);
  const root = await services.prisma.folder.findFirst({ where: { ownerId, parentId: null }, select: { id: true } });
  if (!root) return null;
  if (parts.length === 0) return kind === "folder" ? root.id : null;
  let folderId = root.id;
  for (const [index, part] of parts.entries()) {
    const last = index === parts.length - 1;
    if (last && kind === "file") {
      const file = await services.prisma.file.findFirst({
        where: { folderId, nameKey: nameKey(part), trashedAt: null },
        select: { id: true },
      });
      return file?.id ?? null;
    }
    const folder = await services.prisma.folder.findFirst({
      where: { parentId: folderId, nameKey: nameKey(part), trashedAt: null },
      select: { id: true },
    });
    if (!folder) return null;
    folderId = folder.id;
  }
  return folderId;
}

/**
 * Places a hold. The target is the user by email; for a folder or a file, also its id (any of
 * that user's, trashed ones too: a hold keeps the trash from being emptied) or its path.
 */
export async function placeHold(
  services: Pick<Services, "prisma">,
  admin: { id: string; role: string },
  rawInput: unknown,
  audit: AuditActor,
): Promise<HoldView> {
  assertAdmin(admin);
  const parsed = placeHoldInput.safeParse(rawInput);
  if (!parsed.success) throw new ValidationError("Please correct the highlighted fields.", fieldErrors(parsed.error));
  const input = parsed.data;
  const owner = await services.prisma.user.findUnique({ where: { email: input.email }, select: { id: true, email: true } });
  if (!owner) throw new ValidationError("No account has that email.", { email: "No account has that email." });
  if (await isBeingErased(services.prisma, owner.id)) {
    throw new ConflictError("That account is being erased right now; it can no longer be held.");
  }
  let targetId = owner.id;
  if (input.targetType !== "user") {
    const itemId = input.itemId ?? "";
    const path = input.path ?? "";
    if (itemId === "" && path === "") {
      throw new ValidationError("Name the folder or file by its id or its path.", { itemId: "Enter an id or a path." });
    }
    let found: string | null;
    if (itemId !== "") {
      found =
        input.targetType === "folder"
          ? ((await services.prisma.folder.findFirst({ where: { id: itemId, ownerId: owner.id }, select: { id: true } }))?.id ?? null)
          : ((await services.prisma.file.findFirst({ where: { id: itemId, ownerId: owner.id }, select: { id: true } }))?.id ?? null);
    } else {
      found = await resolvePath(services, owner.id, input.targetType, path);
    }
    if (!found) {
      const what = input.targetType === "folder" ? "folder" : "file";
      throw new ValidationError(`That account has no such ${what}.`, {
        [itemId !== "" ? "itemId" : "path"]: `No such ${what} of ${owner.email}.`,
      });
    }
    targetId = found;
  }
  const hold = await services.prisma.$transaction(async (tx) => {
    const active = await tx.legalHold.count({ where: { releasedAt: null } });
    if (active >= MAX_ACTIVE_HOLDS) throw new ConflictError(`There are ${MAX_ACTIVE_HOLDS} active holds already; release some first.`);
    const created = await tx.legalHold.create({
      data: {
        targetType: input.targetType,
        targetId,
        ownerId: owner.id,
        reason: input.reason,
        placedById: admin.id,
        placedByLabel: audit.actorLabel,
      },
    });
    await recordAudit(tx, audit, {
      action: "admin.hold_placed",
      targetType: input.targetType,
      targetId,
      details: { holdId: created.id, reason: input.reason, owner: owner.email },
    });
    return created;
  });
  return getHold(services, admin, hold.id);
}

/** Releases an active hold, with the reason; what it covered may be deleted again unless another hold covers it. */
export async function releaseHold(
  services: Pick<Services, "prisma">,
  admin: { id: string; role: string },
  holdId: string,
  rawInput: unknown,
  audit: AuditActor,
): Promise<HoldView> {
  assertAdmin(admin);
  const parsed = releaseHoldInput.safeParse(rawInput);
  if (!parsed.success) throw new ValidationError("Please correct the highlighted fields.", fieldErrors(parsed.error));
  await services.prisma.$transaction(async (tx) => {
    const [row] = await tx.$queryRaw<Array<{ released_at: Date | null; target_type: string; target_id: string }>>`
      SELECT released_at, target_type, target_id FROM legal_holds WHERE id = ${holdId} FOR UPDATE`;
    if (!row) throw new NotFoundError("That legal hold");
    if (row.released_at) throw new ConflictError("That legal hold was released already. Nothing was changed.");
    await tx.legalHold.update({
      where: { id: holdId },
      data: { releasedAt: new Date(), releasedById: admin.id, releasedByLabel: audit.actorLabel, releaseReason: parsed.data.reason },
    });
    await recordAudit(tx, audit, {
      action: "admin.hold_released",
      targetType: row.target_type as HoldTargetType,
      targetId: row.target_id,
      details: { holdId, reason: parsed.data.reason },
    });
  });
  return getHold(services, admin, holdId);
}
