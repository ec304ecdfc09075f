import { randomBytes } from "node:crypto";
import { expect, it, vi } from "vitest";
import { type ContractSuite, upload } from "./env";

/** The operations pages of administration as resources: jobs, lifecycle, system and analytics. */
export const adminOpsSuite: ContractSuite = (env) => {
  it("keeps the operations resources to administrators", async () => {
    const { otherApi, other } = env();
    for (const response of [
      (await otherApi.GET("/api/v1/admin/jobs")).response,
      (await otherApi.GET("/api/v1/admin/lifecycle")).response,
      (await otherApi.GET("/api/v1/admin/system")).response,
      (await otherApi.GET("/api/v1/admin/analytics")).response,
      (await otherApi.POST("/api/v1/admin/jobs/{queue}/run", { params: { path: { queue: "purge-expired-trash" } } })).response,
    ]) {
      expect(response.status).toBe(403);
    }
    const patched = await other.request("/api/v1/admin/lifecycle", {
      method: "PATCH",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ trashRetentionDays: 1 }),
    });
    expect(patched.status).toBe(403);
  });

  it("lists the job queues with their failures, retries a failed job and runs a scheduled one now, audited", async () => {
    const { adminApi, app, storage, adminUser } = env();
    const queue = `test-api-flaky-${storage}`;
    await app.services.jobs!.define({ name: queue, kind: "per-item", retryLimit: 0 }, async () => {
      throw new Error("the disk is full\n    at flaky.ts:1:1");
    });
    const listed = await adminApi.GET("/api/v1/admin/jobs");
    expect(listed.response.status).toBe(200);
    expect(listed.data!.running).toBe(true);
    const purge = listed.data!.queues.find((q) => q.name === "purge-expired-trash")!;
    expect(purge).toMatchObject({ schedule: "5 * * * *", label: "Purge expired trash" });
    expect(listed.data!.storageTiers).toEqual({ cold: null, migration: null });

    const jobId = await app.services.jobs!.send(queue, {});
    const failedQueue = await vi.waitFor(
      async () => {
        const now = (await adminApi.GET("/api/v1/admin/jobs")).data!.queues.find((q) => q.name === queue)!;
        expect(now.failed.map((job) => job.id)).toContain(jobId);
        return now;
      },
      { timeout: 20_000, interval: 250 },
    );
    expect(failedQueue.lastFailureMessage).toContain("the disk is full");
    expect(failedQueue.lastFailureMessage).not.toContain("flaky.ts");
    expect(failedQueue.failures24h).toBeGreaterThanOrEqual(1);

    const unknownJob = await adminApi.POST("/api/v1/admin/jobs/{queue}/retry", {
      params: { path: { queue } },
      body: { jobId: "00000000-0000-4000-8000-000000000000" },
    });
    expect(unknownJob.response.status).toBe(404);
    const retried = await adminApi.POST("/api/v1/admin/jobs/{queue}/retry", { params: { path: { queue } }, body: { jobId: jobId! } });
    expect(retried.response.status).toBe(200);
    expect(retried.data).toEqual({ queue, retried: 1 });
    const retryEvent = await app.services.prisma.auditEvent.findFirst({
      where: { action: "admin.jobs_retried", actorId: adminUser.id },
      orderBy: { createdAt: "desc" },
    });
    expect(retryEvent!.details).toMatchObject({ queue, retried: 1, jobId });

    // Only scheduled queues run on demand; an unknown queue is not found either way.
    const unscheduled = await adminApi.POST("/api/v1/admin/jobs/{queue}/run", { params: { path: { queue } } });
    expect(unscheduled.response.status).toBe(404);
    expect((await adminApi.POST("/api/v1/admin/jobs/{queue}/run", { params: { path: { queue: "no-such-queue" } } })).response.status).toBe(
      404,
    );
    const run = await adminApi.POST("/api/v1/admin/jobs/{queue}/run", { params: { path: { queue: "purge-expired-trash" } } });
    expect([202, 409]).toContain(run.response.status);
    if (run.response.status === 202) expect(run.data).toEqual({ queue: "purge-expired-trash" });
    const runEvent = await app.services.prisma.auditEvent.findFirst({ where: { action: "admin.job_run", actorId: adminUser.id } });
    expect(runEvent?.details).toMatchObject({ queue: "purge-expired-trash" });
  }, 40_000);

  it("reads the lifecycle rules and changes them with If-Match, under the settings page's rules", async () => {
    const { adminApi } = env();
    const original = await adminApi.GET("/api/v1/admin/lifecycle");
    expect(original.response.status).toBe(200);
    expect(original.response.headers.get("etag")).toBe(original.data!.etag);
    expect(original.data!.rules.map((rule) => rule.rule)).toEqual(["trash", "versions", "audit", "accounts"]);
    const settings = (await adminApi.GET("/api/v1/admin/settings")).data!;
    const { etag, settings: values } = original.data!;
    expect(values).toEqual({
      trashRetentionDays: settings.trashRetentionDays,
      auditRetentionDays: settings.auditRetentionDays,
      versionsKept: settings.versionsKept,
      versionRetentionDays: settings.versionRetentionDays,
      deletedAccountRetentionDays: settings.deletedAccountRetentionDays,
      coldTierAfterDays: settings.coldTierAfterDays,
    });
    try {
      const changed = await adminApi.PATCH("/api/v1/admin/lifecycle", {
        params: { header: { "if-match": etag } },
        body: { trashRetentionDays: values.trashRetentionDays + 2, versionRetentionDays: 45 },
      });
      expect(changed.response.status).toBe(200);
      expect(changed.data!.settings).toMatchObject({ trashRetentionDays: values.trashRetentionDays + 2, versionRetentionDays: 45 });
      expect(changed.data!.rules.find((rule) => rule.rule === "trash")!.setting).toContain(`${values.trashRetentionDays + 2} days`);
      expect(changed.data!.etag).not.toBe(etag);
      // The same settings as /admin/settings, which the other fields keep.
      const after = (await adminApi.GET("/api/v1/admin/settings")).data!;
      expect(after).toMatchObject({ trashRetentionDays: values.trashRetentionDays + 2, tokenMaxDays: settings.tokenMaxDays });

      // Two changes made against the same rules at once: one wins, the other is told (412).
      const race = await Promise.all(
        [1, 2].map((n) =>
          adminApi.PATCH("/api/v1/admin/lifecycle", {
            params: { header: { "if-match": changed.data!.etag } },
            body: { deletedAccountRetentionDays: 10 + n },
          }),
        ),
      );
      expect(race.map((r) => r.response.status).sort()).toEqual([200, 412]);
      const loser = race.find((r) => r.response.status === 412)!;
      expect(loser.error).toMatchObject({ type: "/api/docs#problem-precondition-failed" });
      const winner = race.find((r) => r.response.status === 200)!.data!;
      expect((await adminApi.GET("/api/v1/admin/lifecycle")).data!.settings).toEqual(winner.settings);

      const refusals: Array<[Record<string, unknown>, string]> = [
        [{ trashRetentionDays: 0 }, "/body/trashRetentionDays"],
        [{ auditRetentionDays: 5 }, "/body/auditRetentionDays"],
        [{ versionsKept: 5000 }, "/body/versionsKept"],
        [{ maxFileSize: 5 }, "/body/maxFileSize"],
      ];
      for (const [body, pointer] of refusals) {
        const refused = await adminApi.PATCH("/api/v1/admin/lifecycle", { body: body as never });
        expect(refused.response.status, JSON.stringify(body)).toBe(422);
        expect(refused.error!.errors!.map((e) => e.pointer)).toContain(pointer);
      }
      expect((await adminApi.GET("/api/v1/admin/lifecycle")).data!.settings).toEqual(winner.settings);
    } finally {
      const restored = await adminApi.PATCH("/api/v1/admin/lifecycle", { body: values });
      expect(restored.data!.etag).toBe(etag);
    }
  });

  it("reports the system's health, versions and backups as the system page does", async () => {
    const { adminApi, storage } = env();
    const system = await adminApi.GET("/api/v1/admin/system");
    expect(system.response.status).toBe(200);
    const drivers = Object.fromEntries(system.data!.drivers.map((driver) => [driver.name, driver]));
    expect(Object.keys(drivers).sort()).toEqual(["cache", "database", "search", "storage"]);
    expect(drivers.database).toMatchObject({ up: true, error: null });
    expect(drivers.storage).toMatchObject({ up: true, error: null });
    expect(drivers.storage!.kind.toLowerCase()).toContain(storage === "s3" ? "s3" : "disk");
    expect(system.data!.versions.node).toBe(process.versions.node);
    expect(system.data!.versions.postgres).toMatch(/\d+/);
    expect(system.data!.backups).toEqual({ configured: false });
    expect(system.data!.process.uptimeSeconds).toBeGreaterThanOrEqual(0);
    // No URL with credentials: locations are hosts or directories.
    expect(JSON.stringify(system.data)).not.toMatch(/:\/\/[^/\s"]*@/);
  });

  it("gives the figures behind the analytics charts, with units and the UTC days they cover", async () => {
    const { adminApi, app, owner, storage } = env();
    await upload(app, owner, `counted-${storage}-${randomBytes(3).toString("hex")}.txt`, Buffer.from("twelve bytes"));
    const week = await adminApi.GET("/api/v1/admin/analytics", { params: { query: { days: "7" } } });
    expect(week.response.status).toBe(200);
    const figures = week.data!;
    const today = new Date().toISOString().slice(0, 10);
    expect(figures.period).toMatchObject({ days: 7, to: today, interval: "day", timeZone: "UTC" });
    expect(figures.days).toHaveLength(7);
    expect(figures.days[0]).toBe(figures.period.from);
    expect(figures.days.at(-1)).toBe(today);
    for (const series of [
      figures.uploads,
      figures.uploadBytes,
      figures.downloads,
      figures.downloadBytes,
      figures.activeUsers,
      figures.storedBytes,
    ]) {
      expect(series.values).toHaveLength(7);
    }
    expect(figures.uploads.unit).toBe("count");
    expect(figures.uploadBytes.unit).toBe("bytes");
    expect(figures.activeUsers.unit).toBe("people");
    expect(figures.uploads.values.at(-1)).toBeGreaterThanOrEqual(1);
    expect(figures.uploadBytes.values.at(-1)).toBeGreaterThanOrEqual(12);
    expect(figures.storedBytes.values.at(-1)).toBeGreaterThanOrEqual(12);
    expect(figures.storedByType.map((entry) => entry.group).sort()).toEqual(["archives", "audio", "documents", "images", "other", "video"]);
    expect(figures.topAccounts.length).toBeGreaterThanOrEqual(1);
    expect((await adminApi.GET("/api/v1/admin/analytics")).data!.days).toHaveLength(30);
    for (const bad of ["8", "0", "seven"]) {
      const refused = await adminApi.GET("/api/v1/admin/analytics", { params: { query: { days: bad as never } } });
      expect(refused.response.status, bad).toBe(422);
      expect(refused.error!.errors![0]!.pointer).toBe("/query/days");
    }
  });
};
