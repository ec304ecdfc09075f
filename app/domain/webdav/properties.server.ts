// WebDAV dead properties: what a client stores with PROPPATCH on a file or folder, by item id.
import type { Prisma } from "~/generated/prisma/client";
import type { Services } from "~/services/index.server";

export interface DeadProperty {
  namespace: string;
  name: string;
  /** The property's content as XML. */
  value: string;
}

export type PropertyChange = { op: "set"; property: DeadProperty } | { op: "remove"; namespace: string; name: string };

/** At most this many dead properties per item, and this many bytes in one value. */
export const MAX_PROPERTIES_PER_ITEM = 200;
export const MAX_PROPERTY_BYTES = 16 * 1024;

export function deadProperties(services: Services, itemId: string): Promise<DeadProperty[]> {
  return services.prisma.webdavProperty.findMany({
    where: { itemId },
    select: { namespace: true, name: true, value: true },
    orderBy: [{ namespace: "asc" }, { name: "asc" }],
  });
}

/** Applies every change in order, all or nothing (RFC 4918 §9.2). False when the item would hold too many. */
export async function changeDeadProperties(
  services: Services,
  ownerId: string,
  itemId: string,
  changes: PropertyChange[],
): Promise<boolean> {
  return services.prisma
    .$transaction(async (tx) => {
      for (const change of changes) {
        const id = {
          itemId,
          namespace: change.op === "set" ? change.property.namespace : change.namespace,
          name: change.op === "set" ? change.property.name : change.name,
        };
        if (change.op === "remove") {
          await tx.webdavProperty.deleteMany({ where: id });
          continue;
        }
        await tx.webdavProperty.upsert({
          where: { itemId_namespace_name: id },
          create: { ...id, ownerId, value: change.property.value },
          update: { value: change.property.value },
        });
      }
      if ((await tx.webdavProperty.count({ where: { itemId } })) <= MAX_PROPERTIES_PER_ITEM) return true;
      throw new TooManyProperties();
    })
    .catch((error: unknown) => {
      if (error instanceof TooManyProperties) return false;
      throw error;
    });
}

class TooManyProperties extends Error {}

/** A copy keeps the source's dead properties. */
export async function copyDeadProperties(services: Services, fromId: string, toId: string, ownerId: string): Promise<void> {
  const properties = await deadProperties(services, fromId);
  if (properties.length === 0) return;
  await services.prisma.webdavProperty.createMany({
    data: properties.map((p) => ({ ...p, itemId: toId, ownerId })),
    skipDuplicates: true,
  });
}

/**
 * An item deleted for good takes its dead properties with it. Item ids are of files or folders,
 * so no foreign key can cascade: every hard delete of items calls this in its transaction.
 */
export async function removeDeadProperties(tx: Prisma.TransactionClient, itemIds: string[]): Promise<void> {
  if (itemIds.length === 0) return;
  await tx.$executeRaw`DELETE FROM webdav_properties WHERE item_id = ANY(${itemIds}::text[])`;
}

/** Items handed to another account (an account's deletion) keep their properties, now theirs. */
export async function transferDeadProperties(tx: Prisma.TransactionClient, itemIds: string[], ownerId: string): Promise<void> {
  if (itemIds.length === 0) return;
  await tx.$executeRaw`UPDATE webdav_properties SET owner_id = ${ownerId} WHERE item_id = ANY(${itemIds}::text[])`;
}
