// A separate process for the outbox's crash tests, killed with SIGKILL by the test:
// `node --import tsx tests/support/event-child.ts <database url> commit <actor> <grantee>` commits a
// share.granted event (as recordActivity does, in a transaction), prints "committed <event id>" and
// waits, never waking the dispatcher; `… deliver` runs the dispatcher with a second sink that
// hangs inside the delivery transaction, after the in-app sink wrote, and prints "delivering".
import { recordActivity } from "../../app/domain/audit/activity.server";
import { dispatchEvents, type EventSink, inAppSink } from "../../app/domain/events/dispatcher.server";
import { createPrismaClient } from "../../app/services/db.server";

const [url, mode, actorId, granteeId] = process.argv.slice(2);
const prisma = createPrismaClient(url);
if (mode === "commit") {
  await prisma.$transaction(async (tx) => {
    await recordActivity(tx, {
      userId: actorId,
      ownerId: actorId,
      action: "share.granted",
      subjectType: "folder",
      subjectId: "crash-folder",
      details: { shareId: "crash-share", granteeId, permission: "READ" },
    });
  });
  const event = await prisma.event.findFirstOrThrow({ where: { subjectId: "crash-folder" }, orderBy: { seq: "desc" } });
  process.stdout.write(`committed ${event.id}\n`);
} else {
  const hanging: EventSink = {
    name: "hanging",
    async deliver() {
      process.stdout.write("delivering\n");
      return new Promise<undefined>(() => {});
    },
  };
  void dispatchEvents({ prisma } as never, [inAppSink, hanging]);
}
setInterval(() => {}, 60_000);
