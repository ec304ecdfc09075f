import { z } from "zod";
import {
  getHold,
  HOLD_REASON_MAX,
  HOLD_TARGET_TYPES,
  type HoldView,
  listHolds,
  placeHold,
  releaseHold,
} from "~/domain/admin/legal-holds.server";
import { auditActor } from "~/domain/audit/audit.server";
import { defineOperation, json, type Operation } from "./operation.server";
import { Id, IdParams } from "./schemas";

/**
 * Legal holds (/admin/holds) as resources, administrators only (the `admin` scope): the same
 * domain functions the page calls, audited alike. Decision 0041, docs/retention-and-holds.md.
 */

const Timestamp = z.iso.datetime().meta({ description: "An RFC 3339 timestamp (UTC)." });
const Reason = z.string().min(3).max(HOLD_REASON_MAX).meta({ description: "Why (recorded with the hold and in the audit log)." });

export const LegalHoldSchema = z
  .object({
    id: Id,
    targetType: z.enum(HOLD_TARGET_TYPES).meta({ description: "What is held: a user (all they own), a folder (its subtree) or a file." }),
    targetId: Id,
    ownerEmail: z.string().nullable().meta({ description: "The target's owner; null once the account is gone." }),
    targetLabel: z.string().meta({ description: "What the hold covers, in words (a path for a folder or a file)." }),
    reason: z.string(),
    placedAt: Timestamp,
    placedBy: z.string(),
    releasedAt: Timestamp.nullable(),
    releasedBy: z.string().nullable(),
    releaseReason: z.string().nullable(),
  })
  .meta({ id: "LegalHold", description: "A legal hold: while active (releasedAt null) nothing it covers can be deleted." });

const LegalHolds = z
  .object({ active: z.array(LegalHoldSchema), released: z.array(LegalHoldSchema) })
  .meta({ id: "LegalHolds", description: "Active holds (newest first) and the latest released ones." });

const PlaceLegalHold = z
  .strictObject({
    targetType: z.enum(HOLD_TARGET_TYPES),
    email: z.string().min(3).max(320).meta({ description: "The email of the user held, or of the folder's or file's owner." }),
    itemId: Id.optional().meta({ description: "The folder's or file's id (for a folder or file hold; or give path)." }),
    path: z
      .string()
      .max(4096)
      .optional()
      .meta({ description: "The folder's or file's path in the owner's My files, such as /Projects/2024." }),
    reason: Reason,
  })
  .meta({ id: "PlaceLegalHold" });

const ReleaseLegalHold = z.strictObject({ reason: Reason }).meta({ id: "ReleaseLegalHold" });

function represent(hold: HoldView): z.infer<typeof LegalHoldSchema> {
  return {
    ...hold,
    placedAt: hold.placedAt.toISOString(),
    releasedAt: hold.releasedAt?.toISOString() ?? null,
  };
}

export const legalHoldOperations: Operation[] = [
  defineOperation({
    operationId: "listLegalHolds",
    method: "get",
    path: "/admin/holds",
    tag: "Legal holds",
    summary: "List legal holds",
    description: "Active holds, newest first, and the latest 200 released ones, as /admin/holds shows them.",
    scope: "admin",
    params: z.strictObject({}),
    query: z.strictObject({}),
    responses: { 200: { description: "The holds.", schema: LegalHolds } },
    async handler({ services, principal }) {
      const holds = await listHolds(services, principal.user);
      return json({ active: holds.active.map(represent), released: holds.released.map(represent) });
    },
  }),
  defineOperation({
    operationId: "getLegalHold",
    method: "get",
    path: "/admin/holds/{id}",
    tag: "Legal holds",
    summary: "Read a legal hold",
    description: "One hold, active or released.",
    scope: "admin",
    params: IdParams,
    responses: { 200: { description: "The hold.", schema: LegalHoldSchema } },
    async handler({ services, principal, params }) {
      return json(represent(await getHold(services, principal.user, params.id)));
    },
  }),
  defineOperation({
    operationId: "placeLegalHold",
    method: "post",
    path: "/admin/holds",
    tag: "Legal holds",
    summary: "Place a legal hold",
    description:
      "Holds a user (everything they own), a folder (its subtree, including what is moved in later) or a file, by the owner's email and the item's id or path. Nothing it covers can then be trashed, deleted, purged or moved out of a held folder, by anyone. Audited.",
    scope: "admin",
    params: z.strictObject({}),
    body: PlaceLegalHold,
    problems: [409],
    responses: { 201: { description: "The hold placed.", schema: LegalHoldSchema } },
    async handler({ services, principal, body, request, clientIp }) {
      const hold = await placeHold(services, principal.user, body, auditActor(request, clientIp, principal.user));
      return json(represent(hold), 201);
    },
  }),
  defineOperation({
    operationId: "releaseLegalHold",
    method: "post",
    path: "/admin/holds/{id}/release",
    tag: "Legal holds",
    summary: "Release a legal hold",
    description:
      "Ends an active hold, with the reason; what it covered can be deleted again unless another hold covers it. 409 when released already. Audited.",
    scope: "admin",
    params: IdParams,
    body: ReleaseLegalHold,
    problems: [409],
    responses: { 200: { description: "The released hold.", schema: LegalHoldSchema } },
    async handler({ services, principal, params, body, request, clientIp }) {
      const hold = await releaseHold(services, principal.user, params.id, body, auditActor(request, clientIp, principal.user));
      return json(represent(hold));
    },
  }),
];
