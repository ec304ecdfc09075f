import type { Prisma } from "~/generated/prisma/client";
import { eventFor } from "./catalogue";
import { wakeSignal } from "./wake-signal";

/** What recordActivity knows of a change: enough to append its event. */
export interface OutboxInput {
  actorId: string | null;
  /** Whose file, folder or link it is, when the caller knows it (notifies them of others' changes). */
  ownerId?: string | null;
  action: string;
  subjectType: string;
  subjectId: string;
  details: Prisma.InputJsonObject;
}

/**
 * Appends the change's event to the outbox, on the client it is given: inside the change's
 * transaction the event commits with the change or not at all (decision 0032). Then asks the
 * dispatcher to run soon (best effort: the minute schedule is the safety net).
 */
export async function appendEvent(db: Pick<Prisma.TransactionClient, "event">, input: OutboxInput): Promise<void> {
  const event = eventFor(input.action, input.details as Record<string, unknown>);
  if (!event) return;
  await db.event.create({
    data: {
      kind: event.kind,
      actorUserId: input.actorId,
      ownerUserId: input.ownerId ?? null,
      subjectType: input.subjectType,
      subjectId: input.subjectId,
      resourceKey: `${input.subjectType}:${input.subjectId}`,
      payload: event.payload as Prisma.InputJsonObject,
    },
  });
  wakeDispatcherSoon();
}

const wake = wakeSignal("coffer.events.wake");

/** Installed by the jobs while they run (null to remove): how to wake the dispatcher. */
export const setDispatcherWake = wake.set;

/** One wake per burst of events: the dispatcher takes everything undelivered each run. */
const wakeDispatcherSoon = wake.soon;
