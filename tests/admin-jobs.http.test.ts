// /admin/jobs over HTTP against the production build: the queues, their failures, retry and run now.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startTestApp, type TestApp } from "./support/app";
import { TestClient } from "./support/client";
import { uploadForm } from "./support/people";

describe("the background jobs admin page", () => {
  let app: TestApp;
  let admin: TestClient;
  let user: TestClient;
  let fail = true;
  const runs: number[] = [];

  beforeAll(async () => {
    app = await startTestApp({ storage: "local", cache: "memory" });
    admin = new TestClient(app.url);
    user = new TestClient(app.url);
    await admin.register("Ada Admin", "ada@example.com");
    await user.register("Bob User", "bob@example.com");
    // A queue of the test's own, beside the app's: its handler fails until the test says otherwise.
    await app.services.jobs!.define({ name: "test-flaky", kind: "per-item", retryLimit: 1, retryDelaySeconds: 1 }, async (_data, job) => {
      runs.push(job.attempt);
      if (fail) throw new Error("the object store refused the write\n    at flaky.ts:1:1");
    });
  });
  afterAll(() => app?.close());

  const page = async () => {
    const response = await admin.get("/admin/jobs");
    expect(response.status).toBe(200);
    return response.text();
  };

  it("lists every queue with its schedule, and is for administrators only", async () => {
    const html = await page();
    for (const name of [
      "purge-expired-trash",
      "hash-files",
      "reconcile-storage-used",
      "content-index",
      "cleanup-abandoned-uploads",
      "test-flaky",
    ]) {
      expect(html).toContain(`data-testid="queue-${name}"`);
    }
    expect(html).toContain("cron 5 * * * *");
    expect((await user.get("/admin/jobs")).status).toBe(403);
  });

  it("shows a failed job without its stack, and retries it", async () => {
    const id = await app.services.jobs!.send("test-flaky", {});
    await vi.waitFor(async () => expect((await app.services.jobs!.states(["test-flaky"]))[0].failed).toHaveLength(1), {
      timeout: 20_000,
      interval: 250,
    });
    const html = await page();
    expect(html).toContain(`data-testid="failed-${id}"`);
    expect(html).toContain("the object store refused the write");
    expect(html).not.toContain("flaky.ts");
    // /admin/system sums the queues up: what waits, what failed and the error's first line.
    const system = await (await admin.get("/admin/system")).text();
    const row = system.slice(system.indexOf('data-queue="test-flaky"'), system.indexOf("</tr>", system.indexOf('data-queue="test-flaky"')));
    expect(system).toContain('data-queue="purge-expired-trash"');
    expect(row).toContain("the object store refused the write");
    expect(row).not.toContain("flaky.ts");

    fail = false;
    const retried = await admin.postForm("/admin/jobs", { intent: "retry", queue: "test-flaky", jobId: id! });
    expect(retried.status).toBe(200);
    expect(await retried.text()).toContain("1 failed job of test-flaky queued again.");
    await vi.waitFor(() => expect(runs).toEqual([0, 1, 2]), { timeout: 10_000, interval: 250 });
    expect(await page()).not.toContain(`data-testid="failed-${id}"`);
    const [event] = await app.services.prisma.auditEvent.findMany({ where: { action: "admin.jobs_retried" } });
    expect(event).toMatchObject({
      actorLabel: "ada@example.com",
      outcome: "success",
      details: { queue: "test-flaky", jobId: id, retried: 1 },
    });

    // Nothing failed is left to retry.
    const again = await admin.postForm("/admin/jobs", { intent: "retry", queue: "test-flaky" });
    expect(again.status).toBe(404);
  });

  it("turns the work on a new file into durable jobs, which run and are kept as completed", async () => {
    const ada = await app.services.prisma.user.findUniqueOrThrow({ where: { email: "ada@example.com" } });
    const root = await app.services.prisma.folder.findFirstOrThrow({ where: { ownerId: ada.id, parentId: null } });
    const response = await uploadForm(admin, root.id, "notes.txt", Buffer.from("durable words\n"));
    expect(response.status).toBeLessThan(400);
    const file = await app.services.prisma.file.findFirstOrThrow({ where: { ownerId: ada.id, name: "notes.txt" } });
    // The job row in pg-boss's table, as an operator would look for it.
    const jobs = () =>
      app.services.prisma.$queryRawUnsafe<Array<{ state: string }>>(
        "SELECT state::text FROM pgboss.job WHERE name = 'file-content-index' AND data->>'fileId' = $1",
        file.id,
      );
    await vi.waitFor(async () => expect(await jobs()).toEqual([{ state: "completed" }]), { timeout: 10_000, interval: 100 });
    await vi.waitFor(
      async () =>
        expect((await app.services.prisma.file.findUniqueOrThrow({ where: { id: file.id } })).contentIndexedKey).toBe(file.storageKey),
      { timeout: 5_000 },
    );
    expect(await page()).toContain('data-testid="queue-file-content-index"');
  });

  it("runs a scheduled job now, audited, and refuses what is not a scheduled job", async () => {
    const run = await admin.postForm("/admin/jobs", { intent: "run", queue: "reconcile-storage-used" });
    expect(run.status).toBe(200);
    expect(await run.text()).toContain("A run of reconcile-storage-used is queued.");
    expect(await app.services.prisma.auditEvent.count({ where: { action: "admin.job_run", actorLabel: "ada@example.com" } })).toBe(1);
    await vi.waitFor(async () => expect((await app.services.jobs!.states(["reconcile-storage-used"]))[0].lastRunAt).not.toBeNull(), {
      timeout: 10_000,
      interval: 250,
    });

    expect((await admin.postForm("/admin/jobs", { intent: "run", queue: "test-flaky" })).status).toBe(404);
    expect((await admin.postForm("/admin/jobs", { intent: "run", queue: "../etc" })).status).toBe(400);
    expect((await admin.postForm("/admin/jobs", { intent: "retry", queue: "test-flaky", jobId: "not-a-uuid" })).status).toBe(400);
    expect((await user.postForm("/admin/jobs", { intent: "run", queue: "reconcile-storage-used" })).status).toBe(403);
    expect(await app.services.prisma.auditEvent.count({ where: { action: "admin.job_run" } })).toBe(1);
  });
});
