// A separate process that works on one durable job queue and never finishes its job, until it is
// killed: `node --import tsx tests/support/job-worker.ts <database url> <queue>`. Prints "ready"
// once it works on the queue, then "started <job id>" when it has taken a job.
import { startJobQueue } from "../../app/services/job-queue.server";

const [url, queue] = process.argv.slice(2);
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const jobs = await startJobQueue(url, { log: silent, pollingIntervalSeconds: 0.5 });
await jobs.define({ name: queue, kind: "per-item", heartbeatSeconds: 10, retryLimit: 2, retryDelaySeconds: 1 }, async (_data, job) => {
  process.stdout.write(`started ${job.id}\n`);
  await new Promise(() => {});
});
process.stdout.write("ready\n");
