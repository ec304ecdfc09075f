import { z } from "zod";
import { MAX_BULK_ITEMS, runBulk } from "~/domain/files/bulk.server";
import { changeIfCurrent, getTrashedItemRecord, PreconditionFailedError } from "~/domain/files/item-preconditions.server";
import { getReadableItem, getWritableItem } from "~/domain/files/operations.server";
import { defineOperation, json, type Operation } from "./operation.server";
import { matchesAny } from "./preconditions.server";
import { ConflictPolicy, Id, IdempotencyHeader } from "./schemas";

/** Several items at once, through the bulk page's own code: each item authorised and reported on its own. */

const ItemRef = z
  .strictObject({
    kind: z.enum(["file", "folder"]),
    id: Id,
    etag: z.string().max(200).optional().meta({
      description: "The ETag you last saw: the item is skipped with status 412 when it has changed since (like If-Match).",
    }),
  })
  .meta({ id: "ItemRef" });

type BulkItem = z.infer<typeof ItemRef>;

export const BulkRequest = z
  .strictObject({
    operation: z.enum(["move", "copy", "trash", "restore"]),
    items: z.array(ItemRef).min(1).max(MAX_BULK_ITEMS),
    destinationId: Id.optional().meta({ description: "Required for move and copy." }),
    onConflict: ConflictPolicy.default("cancel"),
  })
  .refine((value) => value.operation === "trash" || value.operation === "restore" || value.destinationId !== undefined, {
    message: "Give a destinationId to move or copy.",
    path: ["destinationId"],
  })
  .meta({ id: "BulkRequest" });

export const BulkOutcome = z
  .object({
    operation: z.enum(["move", "copy", "trash", "restore"]),
    done: z.number().int().nonnegative(),
    skipped: z.number().int().nonnegative(),
    message: z.string(),
    results: z.array(
      z.object({
        kind: z.enum(["file", "folder"]),
        id: Id,
        name: z.string().nullable().meta({ description: "Null for an item you may not see." }),
        ok: z.boolean(),
        reason: z.string().optional(),
        status: z.number().int().optional().meta({ description: "The status a single-item request would have had." }),
      }),
    ),
  })
  .meta({ id: "BulkOutcome", description: "What happened to each item; one failing item never stops the others." });

export const bulkOperations: Operation[] = [
  defineOperation({
    operationId: "bulkItems",
    method: "post",
    path: "/items/bulk",
    tag: "Bulk",
    summary: "Move, copy, trash or restore several items",
    description: `Up to ${MAX_BULK_ITEMS} items, each authorised like a single-item request; the answer lists each item's result. Safe to retry with an Idempotency-Key.`,
    scope: "files:write",
    headers: IdempotencyHeader,
    idempotent: true,
    body: BulkRequest,
    responses: { 200: { description: "Each item's result.", schema: BulkOutcome } },
    async handler({ services, principal, body }) {
      const user = principal.user;
      /** An item with an etag changes only if it is still that version, as If-Match does for one item. */
      const guard = async (ref: BulkItem, change: () => Promise<unknown>) => {
        const { etag } = ref;
        if (etag === undefined) return change();
        if (body.operation === "copy") {
          const source = await getReadableItem(services, user, ref.kind, ref.id);
          if (!matchesAny([etag], source)) throw new PreconditionFailedError(source);
          return change();
        }
        if (body.operation === "restore") await getTrashedItemRecord(services, user, ref.kind, ref.id);
        else await getWritableItem(services, user, ref.kind, ref.id);
        return changeIfCurrent(services, ref.kind, ref.id, (item) => matchesAny([etag], item), change);
      };
      const outcome = await runBulk(services, user, body.operation, body.items, {
        destinationId: body.destinationId,
        policy: body.onConflict,
        guard,
      });
      return json(outcome);
    },
  }),
];
