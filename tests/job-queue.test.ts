// The durable job queue (pg-boss) against the real test PostgreSQL: schedules, retries, failures,
// metrics, and a job whose process was killed.
import { spawn } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { FinalJobError, refreshJobGauges, startJobQueue, type JobQueue } from "~/services/job-queue.server";
import { metrics } from "~/services/metrics.server";
import { createTestDatabase } from "./support/database";

const REPO = path.resolve(import.meta.dirname, "..");
const silent = { debug() {}, info() {}, warn() {}, error() {} };

describe("the durable job queue", () => {
  let url: string;
  const opened: JobQueue[] = [];
  const open = async (options: { schedule?: boolean } = {}) => {
    const queue = await startJobQueue(url, { log: silent, pollingIntervalSeconds: 0.5, superviseIntervalSeconds: 1, ...options });
    opened.push(queue);
    return queue;
  };

  beforeAll(async () => {
    url = (await createTestDatabase()).url;
  });
  afterAll(async () => {
    await Promise.all(opened.map((queue) => queue.stop(1_000)));
  });

  it("runs a scheduled job once per occurrence, however many workers there are", { timeout: 100_000 }, async () => {
    const [first, second] = [await open(), await open()];
    const runs: Array<{ worker: string; minute: number }> = [];
    for (const [worker, label] of [
      [first, "first"],
      [second, "second"],
    ] as const) {
      await worker.define(
        { name: "test-every-minute", cron: "* * * * *" },
        async () => void runs.push({ worker: label, minute: new Date().getUTCMinutes() }),
      );
    }
    // Cron is per minute: the next occurrence is at most a minute (plus a cron pass) away.
    await vi.waitFor(() => expect(runs.length).toBeGreaterThan(0), { timeout: 95_000, interval: 250 });
    // Both workers poll every 0.5 s: a second job for the same occurrence would have run by now.
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    const inFirstMinute = runs.filter((run) => run.minute === runs[0].minute);
    expect(inFirstMinute).toHaveLength(1);
  });

  it("retries a failing job with backoff, then records it as failed, counts it, and retries it on demand", async () => {
    const worker = await open({ schedule: false });
    const attempts: number[] = [];
    let fail = true;
    const failures = async () =>
      (await metrics().jobRuns.get()).values.find((v) => v.labels.queue === "test-failing" && v.labels.outcome === "failure")?.value;
    await worker.define({ name: "test-failing", kind: "per-item", retryLimit: 2, retryDelaySeconds: 1 }, async (_data, job) => {
      attempts.push(job.attempt);
      if (fail) throw new Error("storage refused postgres://coffer:hunter2@db.internal/coffer\n    at secret.ts:1");
    });
    expect(await failures()).toBe(0);
    const id = await worker.send("test-failing", { n: 1 });
    expect(id).toBeTruthy();
    await vi.waitFor(async () => expect((await worker.states(["test-failing"]))[0].failed).toHaveLength(1), {
      timeout: 20_000,
      interval: 250,
    });
    expect(attempts).toEqual([0, 1, 2]);
    expect(await failures()).toBe(3);
    const [state] = await worker.states(["test-failing"]);
    expect(state).toMatchObject({ name: "test-failing", waiting: 0, failures24h: 1 });
    expect(state.lastRunAt).toBeInstanceOf(Date);
    expect(state.failed[0]).toMatchObject({ id, message: "storage refused postgres://***@db.internal/coffer" });
    expect(state.failed[0].message).not.toContain("hunter2");

    fail = false;
    expect(await worker.retryFailed("test-failing")).toBe(1);
    const successes = async () =>
      (await metrics().jobRuns.get()).values.find((v) => v.labels.queue === "test-failing" && v.labels.outcome === "success")?.value;
    await vi.waitFor(async () => expect(await successes()).toBe(1), { timeout: 10_000, interval: 250 });
    expect(attempts).toHaveLength(4);
    expect((await worker.states(["test-failing"]))[0].failed).toEqual([]);
    const durations = (await metrics().jobDuration.get()).values.find(
      (v) => v.labels.queue === "test-failing" && v.metricName === "coffer_job_duration_seconds_count",
    );
    expect(durations?.value).toBe(4);
  });

  it("fails a job at once, without retries, when its handler says the failure is final", async () => {
    const worker = await open({ schedule: false });
    const attempts: number[] = [];
    await worker.define({ name: "test-final", kind: "per-item", retryLimit: 3, retryDelaySeconds: 1 }, async (_data, job) => {
      attempts.push(job.attempt);
      throw new FinalJobError("thumbnail job failed: not an image");
    });
    const id = await worker.send("test-final", {});
    await vi.waitFor(async () => expect((await worker.states(["test-final"]))[0].failed).toHaveLength(1), {
      timeout: 10_000,
      interval: 250,
    });
    expect((await worker.states(["test-final"]))[0].failed[0]).toMatchObject({ id, message: "thumbnail job failed: not an image" });
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(attempts).toEqual([0]);
    const failures = (await metrics().jobRuns.get()).values.find((v) => v.labels.queue === "test-final" && v.labels.outcome === "failure");
    expect(failures?.value).toBe(1);
  });

  it("shows the backlog and the age of the oldest waiting job in the gauges", async () => {
    const worker = await open({ schedule: false });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const started: string[] = [];
    await worker.define({ name: "test-backlog", kind: "per-item" }, async (_data, job) => {
      started.push(job.id);
      await gate;
    });
    const gauge = async (name: "jobBacklog" | "jobOldestWaitingAge") =>
      (await metrics()[name].get()).values.find((v) => v.labels.queue === "test-backlog")?.value;
    expect(await gauge("jobBacklog")).toBe(0);
    for (let i = 0; i < 3; i++) await worker.send("test-backlog", { i });
    await vi.waitFor(() => expect(started).toHaveLength(1), { timeout: 10_000, interval: 100 });
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await refreshJobGauges({ jobs: worker, log: silent });
    expect(await gauge("jobBacklog")).toBe(2);
    expect(await gauge("jobOldestWaitingAge")).toBeGreaterThan(1);
    release();
    await vi.waitFor(() => expect(started).toHaveLength(3), { timeout: 10_000, interval: 100 });
    await refreshJobGauges({ jobs: worker, log: silent });
    expect(await gauge("jobBacklog")).toBe(0);
    expect(await gauge("jobOldestWaitingAge")).toBe(0);
  });

  it("runs again a job whose process was killed while it ran", { timeout: 60_000 }, async () => {
    // One process (tsx's CLI would run the script in a child that SIGKILL does not reach).
    const child = spawn(process.execPath, ["--import", "tsx", "tests/support/job-worker.ts", url, "test-crash"], {
      cwd: REPO,
      stdio: ["ignore", "pipe", "inherit"],
    });
    try {
      let output = "";
      const seen = (text: string) =>
        new Promise<void>((resolve, reject) => {
          const check = () => output.includes(text) && resolve();
          child.stdout!.on("data", (chunk: Buffer) => {
            output += chunk.toString();
            check();
          });
          child.once("exit", (code) => reject(new Error(`the job worker exited (${code})`)));
          check();
        });
      await seen("ready");
      const sender = await open({ schedule: false });
      const id = await sender.send("test-crash", { file: "f1" });
      await seen(`started ${id}`);
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGKILL");
      await exited;

      const again: Array<{ id: string; attempt: number; data: unknown }> = [];
      await sender.define(
        { name: "test-crash", kind: "per-item", heartbeatSeconds: 10, retryLimit: 2, retryDelaySeconds: 1 },
        async (data, job) => {
          again.push({ id: job.id, attempt: job.attempt, data });
        },
      );
      // The killed worker's heartbeat lapses after 10 s; the supervisor then fails the job, which is retried.
      await vi.waitFor(() => expect(again).toEqual([{ id, attempt: 1, data: { file: "f1" } }]), { timeout: 40_000, interval: 250 });
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
  });
});
