// Public share links, the owner's side: the form schemas, creating, changing and revoking a
// link. Listing is in `share-link-listing.server`; the visitor's side in `share-access.server`.
import { randomBytes } from "node:crypto";
import { z } from "zod";
import type { File as FileRecord, Folder, ShareLink } from "~/generated/prisma/client";
import type { Services } from "~/services/index.server";
import { metrics } from "~/services/metrics.server";
import type { SessionUser } from "../accounts/sessions.server";
import { fieldErrors, hashPassword } from "../accounts/users.server";
import { recordActivity } from "../audit/activity.server";
import { type AuditActor, recordAudit } from "../audit/audit.server";
import { ForbiddenError, NotFoundError, ValidationError } from "../errors";
import { verdictOf } from "../files/malware-scans.server";

export type Actor = Pick<SessionUser, "id" | "role">;

export type ItemRef = { kind: "file" | "folder"; id: string };

/** "file:<id>" / "folder:<id>" → a reference, or null when malformed. */
export function parseItemRef(raw: unknown): ItemRef | null {
  if (typeof raw !== "string") return null;
  const match = /^(file|folder):([A-Za-z0-9_-]{1,64})$/.exec(raw.trim());
  return match ? { kind: match[1] as ItemRef["kind"], id: match[2] } : null;
}

export function newShareToken(): string {
  return randomBytes(32).toString("base64url");
}

// ---------------------------------------------------------------------------------------------
// Input

const optionalText = z
  .string()
  .optional()
  .transform((value) => (value && value.trim() !== "" ? value : undefined));

/** Accepts an ISO date-time, "YYYY-MM-DDTHH:mm" (datetime-local, read as UTC) or "YYYY-MM-DD" (end of that day, UTC). */
export function parseExpiry(raw: string): Date | null {
  const value = raw.trim();
  let date: Date;
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) date = new Date(`${value}T23:59:59Z`);
  else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(value)) date = new Date(`${value}Z`);
  else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value)) date = new Date(value);
  else return null;
  return Number.isNaN(date.getTime()) ? null : date;
}

const expirySchema = optionalText.transform((value, ctx) => {
  if (value === undefined) return null;
  const date = parseExpiry(value);
  if (!date) {
    ctx.addIssue({ code: "custom", message: "Enter the expiry as a date and time, e.g. 2027-01-31T18:00." });
    return z.NEVER;
  }
  if (date.getTime() <= Date.now()) {
    ctx.addIssue({ code: "custom", message: "The expiry must be in the future." });
    return z.NEVER;
  }
  return date;
});

const limitSchema = optionalText.transform((value, ctx) => {
  if (value === undefined) return null;
  const n = Number(value.trim());
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1 || n > 1_000_000) {
    ctx.addIssue({ code: "custom", message: "The download limit must be a whole number from 1 to 1,000,000." });
    return z.NEVER;
  }
  return n;
});

const passwordSchema = optionalText.pipe(
  z.string().min(4, "Use at least 4 characters for the link password.").max(1024, "The password is too long.").optional(),
);

export const createLinkSchema = z.object({
  mode: z.enum(["READ", "DROP"], { message: "Choose what visitors can do." }).default("READ"),
  password: passwordSchema,
  expiresAt: expirySchema,
  maxDownloads: limitSchema,
});

export const updateLinkSchema = z.object({
  password: passwordSchema,
  clearPassword: z.enum(["on", "1", "true"]).optional(),
  expiresAt: expirySchema,
  maxDownloads: limitSchema,
});

function parse<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new ValidationError("Please correct the highlighted fields.", fieldErrors(parsed.error));
  return parsed.data;
}

/** The actor's own item (not in the trash), for sharing; NotFound otherwise. */
export async function getOwnItem(
  services: Services,
  actor: Actor,
  item: ItemRef,
): Promise<{ kind: "file"; file: FileRecord } | { kind: "folder"; folder: Folder }> {
  if (item.kind === "file") {
    const file = await services.prisma.file.findUnique({ where: { id: item.id } });
    if (!file || file.trashedAt || file.ownerId !== actor.id) throw new NotFoundError("That file");
    return { kind: "file", file };
  }
  const folder = await services.prisma.folder.findUnique({ where: { id: item.id } });
  if (!folder || folder.trashedAt || folder.ownerId !== actor.id) throw new NotFoundError("That folder");
  if (folder.parentId === null) throw new ValidationError("Share a folder inside My files rather than all of My files.");
  return { kind: "folder", folder };
}

export async function createShareLink(
  services: Services,
  actor: Actor,
  item: ItemRef,
  input: unknown,
  audit: AuditActor,
): Promise<ShareLink> {
  const target = await getOwnItem(services, actor, item);
  // A quarantined file is not shared (decision 0040); one waiting for its scan may be, and is
  // served once it is clean.
  if (target.kind === "file" && (await verdictOf(services, target.file.storageKey))?.status === "infected") {
    throw new ForbiddenError("This file is quarantined: malware was found in it, so it cannot be shared.");
  }
  const data = parse(createLinkSchema, input);
  if (data.mode === "DROP" && target.kind !== "folder") {
    throw new ValidationError("A file drop needs a folder to receive the files.", { mode: "Only folders can be file drops." });
  }
  if (data.mode === "DROP" && data.maxDownloads !== null) {
    throw new ValidationError("A file drop has no downloads to limit.", { maxDownloads: "Leave empty for a file drop." });
  }
  const passwordHash = data.password ? await hashPassword(data.password) : null;
  const link = await services.prisma.$transaction(async (tx) => {
    const created = await tx.shareLink.create({
      data: {
        token: newShareToken(),
        ownerId: actor.id,
        fileId: target.kind === "file" ? target.file.id : null,
        folderId: target.kind === "folder" ? target.folder.id : null,
        mode: data.mode,
        passwordHash,
        expiresAt: data.expiresAt,
        maxDownloads: data.maxDownloads,
      },
    });
    await recordActivity(tx, {
      userId: actor.id,
      ownerId: actor.id,
      action: "share.created",
      subjectType: "share",
      subjectId: created.id,
      details: { itemKind: item.kind, itemId: item.id, mode: created.mode, password: created.passwordHash !== null },
    });
    return created;
  });
  metrics().shareLinksCreated.inc({ mode: link.mode === "DROP" ? "drop" : "read" });
  await recordAudit(services.prisma, audit, {
    action: "share.created",
    targetType: "share",
    targetId: link.id,
    details: {
      itemKind: item.kind,
      itemId: item.id,
      mode: link.mode,
      password: link.passwordHash !== null,
      expiresAt: link.expiresAt?.toISOString() ?? null,
      maxDownloads: link.maxDownloads,
    },
  });
  return link;
}

async function getOwnLink(services: Services, actor: Actor, linkId: string): Promise<ShareLink> {
  const link =
    typeof linkId === "string" && linkId.length <= 64 ? await services.prisma.shareLink.findUnique({ where: { id: linkId } }) : null;
  if (!link || link.ownerId !== actor.id) throw new NotFoundError("That link");
  return link;
}

export async function updateShareLink(
  services: Services,
  actor: Actor,
  linkId: string,
  input: unknown,
  audit: AuditActor,
): Promise<ShareLink> {
  const link = await getOwnLink(services, actor, linkId);
  const data = parse(updateLinkSchema, input);
  // The page's form sends every field; a field left out of the input (the API's PATCH) keeps its value.
  const given = (name: string) => typeof input === "object" && input !== null && name in input;
  if (link.mode === "DROP" && given("maxDownloads") && data.maxDownloads !== null) {
    throw new ValidationError("A file drop has no downloads to limit.", { maxDownloads: "Leave empty for a file drop." });
  }
  let passwordHash = link.passwordHash;
  if (data.clearPassword) passwordHash = null;
  else if (data.password) passwordHash = await hashPassword(data.password);
  const { updated, details } = await services.prisma.$transaction(async (tx) => {
    const changed = await tx.shareLink.update({
      where: { id: link.id },
      data: {
        passwordHash,
        ...(given("expiresAt") ? { expiresAt: data.expiresAt } : {}),
        ...(given("maxDownloads") ? { maxDownloads: data.maxDownloads } : {}),
      },
    });
    const recorded = {
      password: data.clearPassword ? "cleared" : data.password ? "set" : "unchanged",
      expiresAt: changed.expiresAt?.toISOString() ?? null,
      maxDownloads: changed.maxDownloads,
    };
    const entry = { userId: actor.id, ownerId: actor.id, subjectType: "share", subjectId: link.id, details: recorded } as const;
    await recordActivity(tx, { ...entry, action: "share.updated" });
    return { updated: changed, details: recorded };
  });
  await recordAudit(services.prisma, audit, { action: "share.updated", targetType: "share", targetId: link.id, details });
  return updated;
}

export async function revokeShareLink(services: Services, actor: Actor, linkId: string, audit: AuditActor): Promise<void> {
  const link = await getOwnLink(services, actor, linkId);
  const details = { itemKind: link.fileId ? "file" : "folder", itemId: link.fileId ?? link.folderId ?? "" };
  // Recorded first, in the transaction that deletes the link: the row is all that is left of it.
  await services.prisma.$transaction(async (tx) => {
    await recordAudit(tx, audit, { action: "share.revoked", targetType: "share", targetId: link.id, details });
    await recordActivity(tx, {
      userId: actor.id,
      ownerId: actor.id,
      action: "share.revoked",
      subjectType: "share",
      subjectId: link.id,
      details,
    });
    await tx.shareLink.deleteMany({ where: { id: link.id } });
  });
}
