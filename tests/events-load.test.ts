// Issue 19's load test: 10,000 events through the outbox, the dispatcher and the webhook delivery
// job to a receiver on 127.0.0.1, each delivered once, in bounded memory (the heap retained after
// a GC between rounds stays small); the throughput is printed.
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import v8 from "node:v8";
import vm from "node:vm";
import { Webhook as ReferenceWebhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "~/config.server";
import { SYSTEM_ACTOR } from "~/domain/audit/audit.server";
import { dispatchEvents } from "~/domain/events/dispatcher.server";
import { appendEvent } from "~/domain/events/outbox.server";
import { deliverWebhooks } from "~/domain/events/webhook-delivery.server";
import { createWebhook } from "~/domain/events/webhooks.server";
import { closeServices, createServices, type Services } from "~/services/index.server";
import { createLogger } from "~/services/logger.server";
import { createTestDatabase } from "./support/database";

const EVENTS = 10_000;
const MiB = 1024 * 1024;
/**
 * What the run may keep on the heap (measured after a full GC between rounds): deliveries go in
 * claimed batches, so what is retained must not grow with the number of events.
 */
const RETAINED_LIMIT = 32 * MiB;

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;
const retainedHeap = () => {
  gc();
  return process.memoryUsage().heapUsed;
};

let services: Services;
const received = new Map<string, number>();
let sample: { body: string; headers: http.IncomingHttpHeaders } | null = null;
let receiverUrl = "";

beforeAll(async () => {
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const id = String(request.headers["webhook-id"]);
      received.set(id, (received.get(id) ?? 0) + 1);
      sample ??= { body: Buffer.concat(chunks).toString("utf8"), headers: request.headers };
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  receiverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/load`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-events-load-"));
  services = await createServices(
    loadConfig({
      NODE_ENV: "production",
      DATA_DIR: dataDir,
      DATABASE_URL: (await createTestDatabase()).url,
      LOG_LEVEL: "error",
      SESSION_SECRET: "test-secret-that-is-at-least-32-characters-long",
    }),
    createLogger("error"),
  );
  services.config.webhookAllowNetworks = ["127.0.0.1/32"];
  afterAll(async () => {
    server.closeAllConnections();
    server.close();
    await closeServices(services);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
}, 60_000);

describe("10,000 events to a webhook", () => {
  it("delivers each once, in bounded memory, and prints the throughput", async () => {
    const user = await services.prisma.user.create({ data: { email: "load@example.com", name: "Load", passwordHash: "x" } });
    const { secret } = await createWebhook(
      services,
      { id: user.id, role: "USER" },
      { url: receiverUrl, eventTypes: ["folder.created"] },
      SYSTEM_ACTOR,
    );

    const appendStarted = performance.now();
    for (let first = 0; first < EVENTS; first += 500) {
      await services.prisma.$transaction(async (tx) => {
        for (let n = first; n < first + 500; n++) {
          // One folder each: a distinct resource, so per-resource order does not serialise them.
          await appendEvent(tx, {
            actorId: user.id,
            ownerId: user.id,
            action: "folder.created",
            subjectType: "folder",
            subjectId: `load-folder-${n}`,
            details: { name: `Folder ${n}` },
          });
        }
      });
    }
    const appendSeconds = (performance.now() - appendStarted) / 1000;

    const heapBefore = retainedHeap();
    let retainedPeak = heapBefore;
    const started = performance.now();
    while ((await services.prisma.event.count({ where: { dispatchedAt: null } })) > 0) {
      await dispatchEvents(services);
      retainedPeak = Math.max(retainedPeak, retainedHeap());
    }
    const dispatchSeconds = (performance.now() - started) / 1000;
    // Only a bound on a hang: a loaded CI machine with coverage on delivered ~70 events/s, so
    // 10,000 need well over two minutes there (138-230/s on an idle one).
    const deadline = Date.now() + 360_000;
    while (received.size < EVENTS && Date.now() < deadline) {
      // Five claimed batches a round, then the heap is measured.
      await deliverWebhooks(services, { maxBatches: 5 });
      retainedPeak = Math.max(retainedPeak, retainedHeap());
    }
    const seconds = (performance.now() - started) / 1000;
    const retainedMiB = (retainedPeak - heapBefore) / MiB;
    console.log(
      `events load: ${EVENTS} appended in ${appendSeconds.toFixed(1)} s; dispatched in ${dispatchSeconds.toFixed(1)} s, ` +
        `dispatched and delivered in ${seconds.toFixed(1)} s (${Math.round(EVENTS / seconds)} events/s); heap retained at most +${retainedMiB.toFixed(1)} MiB`,
    );

    expect(received.size).toBe(EVENTS);
    expect([...received.values()].every((count) => count === 1)).toBe(true);
    expect(await services.prisma.webhookDelivery.count({ where: { status: "delivered" } })).toBe(EVENTS);
    expect(new ReferenceWebhook(secret).verify(sample!.body, sample!.headers as Record<string, string>)).toMatchObject({
      type: "folder.created",
    });
    expect(retainedPeak - heapBefore).toBeLessThan(RETAINED_LIMIT);
  }, 540_000);
});
