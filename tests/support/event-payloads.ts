import { expect } from "vitest";
import { payloadSchema } from "~/domain/events/payloads";
import type { Database } from "~/services/db.server";

/**
 * Checks every event in the outbox against its kind's payload schema (docs/events.md#payload-schemas)
 * and answers the kinds it saw, so a test file can say which kinds it held to their schemas.
 */
export async function expectPayloadsMatchSchemas(prisma: Pick<Database, "event">): Promise<string[]> {
  const events = await prisma.event.findMany({ select: { kind: true, payload: true }, orderBy: { seq: "asc" } });
  const wrong: string[] = [];
  for (const event of events) {
    const schema = payloadSchema(event.kind);
    const checked = schema?.safeParse(event.payload);
    if (!checked?.success) wrong.push(`${event.kind} ${JSON.stringify(event.payload)}: ${checked?.error.message ?? "no schema"}`);
  }
  expect(wrong).toEqual([]);
  return [...new Set(events.map((event) => event.kind))].sort();
}
