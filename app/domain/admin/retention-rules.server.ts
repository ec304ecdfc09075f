// Adding, listing and removing retention rules (decision 0045, docs/retention-and-holds.md), for
// /admin/holds and /api/v1/admin/retention-rules. Only administrators; both directions audited with
// who and why. What a keep rule refuses is checked in files/holds.server and by the database's
// triggers; the delete-after rules are carried out by files/retention-purge.server (a periodic job).
import { z } from "zod";
import type { RetentionRule } from "~/generated/prisma/client";
import type { Services } from "~/services/index.server";
import { type AuditActor, recordAudit } from "../audit/audit.server";
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from "../errors";
import { folderPath, resolvePath } from "./legal-holds.server";
import {
  RETENTION_DAYS_MAX,
  RETENTION_KINDS,
  RETENTION_REASON_MAX,
  RETENTION_TARGET_TYPES,
  type RetentionKind,
  type RetentionTargetType,
} from "./retention-rules";

export { RETENTION_DAYS_MAX, RETENTION_KINDS, RETENTION_REASON_MAX, RETENTION_TARGET_TYPES, type RetentionKind };
/** Active rules at most (each one is looked up on every deletion while keep rules exist). */
export const MAX_ACTIVE_RULES = 1000;

const reason = z
  .string("Give a reason.")
  .trim()
  .min(3, "Give a reason (at least 3 characters).")
  .max(RETENTION_REASON_MAX, `At most ${RETENTION_REASON_MAX} characters.`)
  .refine((value) => !value.includes("\u0000"), "The reason contains a character that cannot be stored.");

/** What adding a rule takes: the owner's email, the folder by id or path, the kind and the days. */
export const addRuleInput = z
  .object({
    targetType: z.enum(RETENTION_TARGET_TYPES, "Rules apply to folders.").default("folder"),
    email: z.string("Enter the user's email.").trim().toLowerCase().min(3, "Enter the user's email.").max(320, "That email is too long."),
    itemId: z
      .string()
      .trim()
      .max(64, "That id is too long.")
      .regex(/^[A-Za-z0-9_-]*$/, "An id has only letters, digits, - and _.")
      .optional(),
    path: z
      .string()
      .trim()
      .max(4096, "That path is too long.")
      .refine((value) => !value.includes("\u0000"), "The path contains a character that cannot be stored.")
      .optional(),
    kind: z.enum(RETENTION_KINDS, "Choose keep at least or delete after."),
    days: z.coerce
      .number("Enter a number of days.")
      .int("Enter a whole number of days.")
      .min(1, "At least 1 day.")
      .max(RETENTION_DAYS_MAX, `At most ${RETENTION_DAYS_MAX} days.`),
    reason,
  })
  .strict();

export type AddRuleInput = z.input<typeof addRuleInput>;

export const removeRuleInput = z.object({ reason }).strict();

export interface RetentionRuleView {
  id: string;
  targetType: RetentionTargetType;
  targetId: string;
  ownerEmail: string | null;
  /** The folder in words: "Folder /Contracts", or that it no longer exists. */
  targetLabel: string;
  kind: RetentionKind;
  days: number;
  reason: string;
  createdAt: Date;
  createdBy: string;
  removedAt: Date | null;
  removedBy: string | null;
  removeReason: string | null;
}

function assertAdmin(admin: { role: string }) {
  if (admin.role !== "ADMIN") throw new ForbiddenError("Only administrators manage retention rules.");
}

function fieldErrors(error: z.ZodError): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const issue of error.issues) errors[String(issue.path[0] ?? "form")] ??= issue.message;
  return errors;
}

async function view(services: Pick<Services, "prisma">, rule: RetentionRule, ownerEmail: string | null): Promise<RetentionRuleView> {
  const path = await folderPath(services, rule.targetId);
  return {
    id: rule.id,
    targetType: rule.targetType as RetentionTargetType,
    targetId: rule.targetId,
    ownerEmail,
    targetLabel: path === null ? "A folder that no longer exists" : `Folder ${path}`,
    kind: rule.kind as RetentionKind,
    days: rule.days,
    reason: rule.reason,
    createdAt: rule.createdAt,
    createdBy: rule.createdByLabel,
    removedAt: rule.removedAt,
    removedBy: rule.removedByLabel,
    removeReason: rule.removeReason,
  };
}

/** Rules, active first (newest first), then removed ones; at most `limit` of each. */
export async function listRetentionRules(
  services: Pick<Services, "prisma">,
  admin: { role: string },
  options: { limit?: number } = {},
): Promise<{ active: RetentionRuleView[]; removed: RetentionRuleView[] }> {
  assertAdmin(admin);
  const limit = Math.min(Math.max(options.limit ?? 200, 1), 1000);
  const [active, removed] = await Promise.all([
    services.prisma.retentionRule.findMany({ where: { removedAt: null }, orderBy: [{ createdAt: "desc" }, { id: "desc" }], take: limit }),
    services.prisma.retentionRule.findMany({
      where: { removedAt: { not: null } },
      orderBy: [{ removedAt: "desc" }, { id: "desc" }],
      take: limit,
    }),
  ]);
  const ownerIds = [...new Set([...active, ...removed].map((rule) => rule.ownerId))];
  const owners = new Map(
    (await services.prisma.user.findMany({ where: { id: { in: ownerIds } }, select: { id: true, email: true } })).map((user) => [
      user.id,
      user.email,
    ]),
  );
  const each = (rule: RetentionRule) => view(services, rule, owners.get(rule.ownerId) ?? null);
  return { active: await Promise.all(active.map(each)), removed: await Promise.all(removed.map(each)) };
}

export async function getRetentionRule(
  services: Pick<Services, "prisma">,
  admin: { role: string },
  ruleId: string,
): Promise<RetentionRuleView> {
  assertAdmin(admin);
  const rule = await services.prisma.retentionRule.findUnique({ where: { id: ruleId } });
  if (!rule) throw new NotFoundError("That retention rule");
  const owner = await services.prisma.user.findUnique({ where: { id: rule.ownerId }, select: { email: true } });
  return view(services, rule, owner?.email ?? null);
}

/** Adds a rule on a folder of a user (by id or by its path in their My files). */
export async function addRetentionRule(
  services: Pick<Services, "prisma">,
  admin: { id: string; role: string },
  rawInput: unknown,
  audit: AuditActor,
): Promise<RetentionRuleView> {
  assertAdmin(admin);
  const parsed = addRuleInput.safeParse(rawInput);
  if (!parsed.success) throw new ValidationError("Please correct the highlighted fields.", fieldErrors(parsed.error));
  const input = parsed.data;
  const owner = await services.prisma.user.findUnique({ where: { email: input.email }, select: { id: true, email: true } });
  if (!owner) throw new ValidationError("No account has that email.", { email: "No account has that email." });
  const itemId = input.itemId ?? "";
  const path = input.path ?? "";
  if (itemId === "" && path === "") {
    throw new ValidationError("Name the folder by its id or its path.", { itemId: "Enter an id or a path." });
  }
  const folderId =
    itemId !== ""
      ? ((await services.prisma.folder.findFirst({ where: { id: itemId, ownerId: owner.id, trashedAt: null }, select: { id: true } }))
          ?.id ?? null)
      : await resolvePath(services, owner.id, "folder", path);
  if (!folderId) {
    throw new ValidationError("That account has no such folder.", {
      [itemId !== "" ? "itemId" : "path"]: `No such folder of ${owner.email}.`,
    });
  }
  const rule = await services.prisma.$transaction(async (tx) => {
    const active = await tx.retentionRule.count({ where: { removedAt: null } });
    if (active >= MAX_ACTIVE_RULES)
      throw new ConflictError(`There are ${MAX_ACTIVE_RULES} active retention rules already; remove some first.`);
    const created = await tx.retentionRule.create({
      data: {
        targetType: input.targetType,
        targetId: folderId,
        ownerId: owner.id,
        kind: input.kind,
        days: input.days,
        reason: input.reason,
        createdById: admin.id,
        createdByLabel: audit.actorLabel,
      },
    });
    await recordAudit(tx, audit, {
      action: "admin.retention_rule_added",
      targetType: "folder",
      targetId: folderId,
      details: { ruleId: created.id, kind: input.kind, days: input.days, reason: input.reason, owner: owner.email },
    });
    return created;
  });
  return getRetentionRule(services, admin, rule.id);
}

/** Removes an active rule, with the reason (the record stays, listed as removed). */
export async function removeRetentionRule(
  services: Pick<Services, "prisma">,
  admin: { id: string; role: string },
  ruleId: string,
  rawInput: unknown,
  audit: AuditActor,
): Promise<RetentionRuleView> {
  assertAdmin(admin);
  const parsed = removeRuleInput.safeParse(rawInput);
  if (!parsed.success) throw new ValidationError("Please correct the highlighted fields.", fieldErrors(parsed.error));
  await services.prisma.$transaction(async (tx) => {
    const [row] = await tx.$queryRaw<Array<{ removed_at: Date | null; target_id: string; kind: string; days: number }>>`
      SELECT removed_at, target_id, kind, days FROM retention_rules WHERE id = ${ruleId} FOR UPDATE`;
    if (!row) throw new NotFoundError("That retention rule");
    if (row.removed_at) throw new ConflictError("That retention rule was removed already. Nothing was changed.");
    await tx.retentionRule.update({
      where: { id: ruleId },
      data: { removedAt: new Date(), removedById: admin.id, removedByLabel: audit.actorLabel, removeReason: parsed.data.reason },
    });
    await recordAudit(tx, audit, {
      action: "admin.retention_rule_removed",
      targetType: "folder",
      targetId: row.target_id,
      details: { ruleId, kind: row.kind, days: row.days, reason: parsed.data.reason },
    });
  });
  return getRetentionRule(services, admin, ruleId);
}
