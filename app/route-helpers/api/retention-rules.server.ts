import { z } from "zod";
import {
  addRetentionRule,
  getRetentionRule,
  listRetentionRules,
  RETENTION_DAYS_MAX,
  RETENTION_KINDS,
  RETENTION_REASON_MAX,
  RETENTION_TARGET_TYPES,
  type RetentionRuleView,
  removeRetentionRule,
} from "~/domain/admin/retention-rules.server";
import { auditActor } from "~/domain/audit/audit.server";
import { defineOperation, json, type Operation } from "./operation.server";
import { Id, IdParams } from "./schemas";

/**
 * Retention rules (/admin/holds) as resources, administrators only (the `admin` scope): the same
 * domain functions the page calls, audited alike. Decision 0045, docs/retention-and-holds.md.
 */

const Timestamp = z.iso.datetime().meta({ description: "An RFC 3339 timestamp (UTC)." });
const Reason = z.string().min(3).max(RETENTION_REASON_MAX).meta({ description: "Why (recorded with the rule and in the audit log)." });
const Kind = z.enum(RETENTION_KINDS).meta({
  description:
    "keep_at_least: files younger than `days` cannot be deleted or moved out; delete_after: files older than `days` are deleted for good by the hourly job.",
});

export const RetentionRuleSchema = z
  .object({
    id: Id,
    targetType: z.enum(RETENTION_TARGET_TYPES).meta({ description: "What the rule applies to: a folder (its subtree)." }),
    targetId: Id,
    ownerEmail: z.string().nullable().meta({ description: "The folder's owner; null once the account is gone." }),
    targetLabel: z.string().meta({ description: "The folder's path in words." }),
    kind: Kind,
    days: z.number().int().meta({ description: "Days, counted from each file's creation." }),
    reason: z.string(),
    createdAt: Timestamp,
    createdBy: z.string(),
    removedAt: Timestamp.nullable(),
    removedBy: z.string().nullable(),
    removeReason: z.string().nullable(),
  })
  .meta({ id: "RetentionRule", description: "A retention rule on a folder: active while removedAt is null." });

const RetentionRules = z
  .object({ active: z.array(RetentionRuleSchema), removed: z.array(RetentionRuleSchema) })
  .meta({ id: "RetentionRules", description: "Active rules (newest first) and the latest removed ones." });

const AddRetentionRule = z
  .strictObject({
    targetType: z.enum(RETENTION_TARGET_TYPES).optional().meta({ description: "folder (the default)." }),
    email: z.string().min(3).max(320).meta({ description: "The email of the folder's owner." }),
    itemId: Id.optional().meta({ description: "The folder's id (or give path)." }),
    path: z.string().max(4096).optional().meta({ description: "The folder's path in the owner's My files, such as /Contracts." }),
    kind: Kind,
    days: z.number().int().min(1).max(RETENTION_DAYS_MAX),
    reason: Reason,
  })
  .meta({ id: "AddRetentionRule" });

const RemoveRetentionRule = z.strictObject({ reason: Reason }).meta({ id: "RemoveRetentionRule" });

function represent(rule: RetentionRuleView): z.infer<typeof RetentionRuleSchema> {
  return { ...rule, createdAt: rule.createdAt.toISOString(), removedAt: rule.removedAt?.toISOString() ?? null };
}

export const retentionRuleOperations: Operation[] = [
  defineOperation({
    operationId: "listRetentionRules",
    method: "get",
    path: "/admin/retention-rules",
    tag: "Retention rules",
    summary: "List retention rules",
    description: "Active rules, newest first, and the latest 200 removed ones, as /admin/holds shows them.",
    scope: "admin",
    params: z.strictObject({}),
    query: z.strictObject({}),
    responses: { 200: { description: "The rules.", schema: RetentionRules } },
    async handler({ services, principal }) {
      const rules = await listRetentionRules(services, principal.user);
      return json({ active: rules.active.map(represent), removed: rules.removed.map(represent) });
    },
  }),
  defineOperation({
    operationId: "getRetentionRule",
    method: "get",
    path: "/admin/retention-rules/{id}",
    tag: "Retention rules",
    summary: "Read a retention rule",
    description: "One rule, active or removed.",
    scope: "admin",
    params: IdParams,
    responses: { 200: { description: "The rule.", schema: RetentionRuleSchema } },
    async handler({ services, principal, params }) {
      return json(represent(await getRetentionRule(services, principal.user, params.id)));
    },
  }),
  defineOperation({
    operationId: "addRetentionRule",
    method: "post",
    path: "/admin/retention-rules",
    tag: "Retention rules",
    summary: "Add a retention rule",
    description:
      "A rule on a user's folder (by the owner's email and the folder's id or path), covering its subtree and what is moved in later: keep files at least `days` days (deleting or moving them out is refused until then, for everyone), or delete them for good after `days` days (the hourly retention-delete job). Audited.",
    scope: "admin",
    params: z.strictObject({}),
    body: AddRetentionRule,
    problems: [409],
    responses: { 201: { description: "The rule added.", schema: RetentionRuleSchema } },
    async handler({ services, principal, body, request, clientIp }) {
      const rule = await addRetentionRule(services, principal.user, body, auditActor(request, clientIp, principal.user));
      return json(represent(rule), 201);
    },
  }),
  defineOperation({
    operationId: "removeRetentionRule",
    method: "post",
    path: "/admin/retention-rules/{id}/remove",
    tag: "Retention rules",
    summary: "Remove a retention rule",
    description: "Ends an active rule, with the reason; the record stays, listed as removed. 409 when removed already. Audited.",
    scope: "admin",
    params: IdParams,
    body: RemoveRetentionRule,
    problems: [409],
    responses: { 200: { description: "The removed rule.", schema: RetentionRuleSchema } },
    async handler({ services, principal, params, body, request, clientIp }) {
      const rule = await removeRetentionRule(services, principal.user, params.id, body, auditActor(request, clientIp, principal.user));
      return json(represent(rule));
    },
  }),
];
