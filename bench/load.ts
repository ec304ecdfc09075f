/**
 * `npm run bench:load` — Coffer under load: BENCH_USERS virtual users (default 200), each in its
 * own loop, browse My files, search, download and upload 64 KiB files (tus creation with upload)
 * for BENCH_SECONDS (default 60) against the production build, and the client reports every
 * request's latency by kind, the errors and the throughput. Prints; asserts nothing.
 *
 * - BENCH_INSTANCES=1 (default): one Coffer on an embedded-style PostgreSQL and local storage.
 * - BENCH_INSTANCES=2: two Coffer processes sharing that PostgreSQL, one DATA_DIR (local storage)
 *   and a Redis, behind Debian's HAProxy (round robin), as a small deployment runs.
 * The baseline row, in the same run: the same virtual users for BENCH_BASELINE_SECONDS (default
 * 15) against bench/lib/bare-load-server.ts, a bare node:http server — what this client and this
 * machine allow at that concurrency.
 *
 * Two phases against Coffer, BENCH_SECONDS each (docs/decisions/0018): first each virtual user
 * pauses BENCH_THINK_MS (default 1000) with ±50 % jitter between its actions, as people do (the
 * goal's row); then the same users with no pause at all, a saturation test that gives the
 * throughput ceiling. BENCH_THINK_MS=0 runs only the saturation phase. BENCH_BUILD=<dir> runs
 * another production build (e.g. a copy of build/ from before a change).
 */
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { startEmbeddedPostgres } from "../app/services/embedded-postgres.server";
import { freePort } from "../tests/setup/free-port";
import { haproxyInstalled, startHaproxy as startHaproxyProcess } from "../tests/setup/haproxy";
import { startRedis } from "../tests/setup/redis";
import { type BenchAccount, registerBenchUser } from "./lib/account";
import { type AppProcess, BARE_LOAD_SERVER, startAppProcess } from "./lib/app-process";
import { cleanUpOnSignals, onCleanup, runBenchmark } from "./lib/cleanup";
import { cpuTimes, processTreeCpuSeconds } from "./lib/proc";

const REPO = path.resolve(import.meta.dirname, "..");
const USERS = Number(process.env.BENCH_USERS ?? 200);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const BASELINE_SECONDS = Number(process.env.BENCH_BASELINE_SECONDS ?? 15);
/** A virtual user's mean pause between two actions; each pause is drawn from 0.5–1.5 × this. */
const THINK_MS = Number(process.env.BENCH_THINK_MS ?? 1000);
const INSTANCES = Number(process.env.BENCH_INSTANCES ?? 1);
/** Accounts the virtual users share (user i logs in as account i mod ACCOUNTS). */
const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 20);
const SEED_FILES = Number(process.env.BENCH_SEED_FILES ?? 40);
const UPLOAD_BYTES = 64 * 1024;
const WORDS = ["invoice", "holiday", "quarterly", "minutes", "contract", "garden", "receipt", "thesis"];

type Action = "browse" | "search" | "download" | "upload";
/** How often each action comes, out of 100. */
const MIX: Array<[Action, number]> = [
  ["browse", 35],
  ["search", 25],
  ["download", 25],
  ["upload", 15],
];

interface Account extends BenchAccount {
  fileIds: string[];
}

interface Outcome {
  action: Action;
  ms: number;
  error?: string;
}

async function main() {
  cleanUpOnSignals();
  if (!fs.existsSync(path.join(REPO, "build/server/index.js"))) throw new Error("No production build: run `npm run build` first.");
  if (INSTANCES === 2 && !haproxyInstalled()) throw new Error("BENCH_INSTANCES=2 needs Debian's HAProxy: apt-get install haproxy");
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-bench-load-"));
  fs.chmodSync(work, 0o755);
  onCleanup("remove temp dir", () => fs.rmSync(work, { recursive: true, force: true }));
  const load = os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");
  console.log(
    `Coffer (${process.env.BENCH_BUILD ?? "build"}) under load: ${USERS} virtual users for ${SECONDS} s, think time ${THINK_MS} ms (then none), ${INSTANCES} instance(s), ${ACCOUNTS} accounts with ${SEED_FILES} files each, load average ${load}`,
  );

  const pg = await startEmbeddedPostgres({ dataDir: path.join(work, "pg", "data"), port: await freePort(), database: "coffer_bench" });
  onCleanup("stop embedded Postgres", () => pg.stop(), 20_000);
  const dataDir = path.join(work, "data");
  fs.mkdirSync(dataDir);
  const env: Record<string, string> = {
    LOG_LEVEL: "warn",
    DATA_DIR: dataDir,
    DATABASE_URL: pg.url,
    SESSION_SECRET: "bench-secret-that-is-at-least-32-characters-long",
    RATE_LIMIT_AUTH: "1000000/1m",
    RATE_LIMIT_API: "1000000/1m",
    RATE_LIMIT_GENERAL: "1000000/1m",
    RATE_LIMIT_SHARE: "1000000/1m",
    // An earlier production build for the before row (a copy beside its own node_modules).
    ...(process.env.BENCH_BUILD ? { COFFER_BENCH_BUILD: process.env.BENCH_BUILD } : {}),
  };
  if (INSTANCES === 2) {
    const redis = await startRedis(path.join(work, "redis"));
    onCleanup("stop Redis", () => redis.stop());
    Object.assign(env, { REDIS_URL: redis.url, REDIS_PREFIX: "bench-load:" });
  }
  const apps: AppProcess[] = [];
  // One after the other: the first runs the migrations.
  for (let i = 0; i < INSTANCES; i++) {
    const app = await startAppProcess(env);
    onCleanup(`stop Coffer (pid ${app.pid})`, () => app.stop(), 20_000);
    apps.push(app);
  }
  const url = INSTANCES === 2 ? await startHaproxy(work, apps) : apps[0]!.url;

  const accounts: Account[] = [];
  for (let i = 0; i < ACCOUNTS; i++) accounts.push(await seedAccount(url, i));

  const bare = await startAppProcess({}, BARE_LOAD_SERVER);
  onCleanup("stop the bare server", () => bare.stop());
  const baseline = await drive(bare.url, accounts, BASELINE_SECONDS, 0, () => {});
  await bare.stop();

  const rss = new Map<number, number>();
  const sampleRss = () => {
    for (const app of apps) rss.set(app.pid, Math.max(rss.get(app.pid) ?? 0, readRss(app.pid)));
  };
  const postmaster = Number(fs.readFileSync(path.join(work, "pg", "data", "postmaster.pid"), "utf8").split("\n")[0]);
  const cofferCpuSeconds = () => apps.reduce((sum, app) => sum + cpuTimes(app.pid).user + cpuTimes(app.pid).system, 0);
  const phases: Array<{ label: string; outcomes: Outcome[]; load: string; cofferCpu: number; postgresCpu: number }> = [];
  for (const think of THINK_MS > 0 ? [THINK_MS, 0] : [0]) {
    const [cofferBefore, postgresBefore] = [cofferCpuSeconds(), processTreeCpuSeconds(postmaster)];
    const outcomes = await drive(url, accounts, SECONDS, think, sampleRss);
    const label = think > 0 ? `think time ${think} ms ± 50 %` : "no pause (saturation)";
    phases.push({
      label,
      outcomes,
      load: os.loadavg()[0]!.toFixed(1),
      cofferCpu: cofferCpuSeconds() - cofferBefore,
      postgresCpu: processTreeCpuSeconds(postmaster) - postgresBefore,
    });
  }

  console.log(`\n| what | requests | errors | per second | p50 | p95 | p99 | max |`);
  console.log(`|---|---|---|---|---|---|---|---|`);
  printRow(`bare node:http server, no pause (GET ${(30_000 / 1000).toFixed(0)} kB page, POST drained)`, baseline, BASELINE_SECONDS);
  for (const phase of phases) {
    printRow(`Coffer, ${phase.label}, all requests (load average ${phase.load} at the end)`, phase.outcomes, SECONDS);
    for (const [action] of MIX)
      printRow(
        `Coffer, ${phase.label}, ${action}`,
        phase.outcomes.filter((o) => o.action === action),
        SECONDS,
      );
  }
  console.log();
  for (const phase of phases) {
    const perRequest = (seconds: number) => `${((seconds * 1000) / Math.max(1, phase.outcomes.length)).toFixed(1)} ms`;
    console.log(
      `CPU per request, ${phase.label}: Coffer ${perRequest(phase.cofferCpu)}, PostgreSQL ${perRequest(phase.postgresCpu)} (all kinds together)`,
    );
  }
  const outcomes = phases.flatMap((phase) => phase.outcomes);
  const errors = outcomes.filter((o) => o.error);
  if (errors.length) {
    const kinds = new Map<string, number>();
    for (const e of errors) kinds.set(`${e.action}: ${e.error}`, (kinds.get(`${e.action}: ${e.error}`) ?? 0) + 1);
    console.log(`\nerrors: ${[...kinds].map(([what, n]) => `${n} × ${what}`).join("; ")}`);
  }
  console.log(`\npeak server RSS: ${[...rss.values()].map((bytes) => `${(bytes / 2 ** 20).toFixed(0)} MiB`).join(", ")}`);
  for (const app of apps) {
    const problems = app.log.filter((line) => /"level":"(error|fatal)"/.test(line));
    if (problems.length) console.log(`server ${app.pid} logged ${problems.length} errors, e.g. ${problems[0]!.slice(0, 300)}`);
  }
}

/**
 * Runs USERS virtual users against `url` for `seconds`, each pausing `thinkMs` ± 50 % between its
 * actions (and up to 1.5 × `thinkMs` before its first, so that they do not all start at once);
 * `tick` runs once a second.
 */
async function drive(url: string, accounts: Account[], seconds: number, thinkMs: number, tick: () => void): Promise<Outcome[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: USERS });
  const outcomes: Outcome[] = [];
  const deadline = performance.now() + seconds * 1000;
  const ticker = setInterval(tick, 1000);
  let uploads = 0;
  const user = async (index: number) => {
    const account = accounts[index % accounts.length]!;
    let random = index + 1;
    // A sequence of its own: drawing pauses from `random` would change which actions come.
    let pauseRandom = index + 7919;
    /** Waits (`from` + a uniform draw in [0, `spread`)) × thinkMs. */
    const pause = (from: number, spread: number) => {
      pauseRandom = (pauseRandom * 1103515245 + 12345) % 2 ** 31;
      return new Promise((resolve) => setTimeout(resolve, thinkMs * (from + spread * (pauseRandom / 2 ** 31))));
    };
    if (thinkMs > 0) await pause(0, 1.5);
    while (performance.now() < deadline) {
      random = (random * 1103515245 + 12345) % 2 ** 31;
      const action = pick(random % 100);
      const started = performance.now();
      let error: string | undefined;
      try {
        const { status } = await perform(url, agent, account, action, random, uploads++);
        const expected = action === "upload" ? 201 : 200;
        if (status !== expected) error = `HTTP ${status}`;
      } catch (failure) {
        error = (failure as Error).message;
      }
      outcomes.push({ action, ms: performance.now() - started, error });
      if (thinkMs > 0) await pause(0.5, 1);
    }
  };
  await Promise.all(Array.from({ length: USERS }, (_, i) => user(i)));
  clearInterval(ticker);
  agent.destroy();
  return outcomes;
}

function pick(roll: number): Action {
  let sum = 0;
  for (const [action, weight] of MIX) {
    sum += weight;
    if (roll < sum) return action;
  }
  return "browse";
}

function perform(url: string, agent: http.Agent, account: Account, action: Action, random: number, n: number) {
  const headers = { cookie: account.cookie };
  switch (action) {
    case "browse":
      return send(agent, `${url}/files`, "GET", headers);
    case "search":
      return send(agent, `${url}/search?q=${WORDS[random % WORDS.length]}`, "GET", headers);
    case "download":
      return send(agent, `${url}/download/${account.fileIds[random % account.fileIds.length]}`, "GET", headers);
    case "upload":
      return send(
        agent,
        `${url}/api/uploads`,
        "POST",
        { ...headers, ...tusCreation(`load-${process.pid}-${n}.bin`, UPLOAD_BYTES) },
        Buffer.alloc(UPLOAD_BYTES, n % 251),
      );
  }
}

function tusCreation(name: string, size: number): Record<string, string> {
  return {
    "tus-resumable": "1.0.0",
    "upload-length": String(size),
    "upload-metadata": `filename ${Buffer.from(name).toString("base64")}`,
    "content-type": "application/offset+octet-stream",
  };
}

/** One request over the keep-alive agent; the body is read and counted, never kept. */
function send(agent: http.Agent, target: string, method: string, headers: Record<string, string>, body?: Buffer) {
  const url = new URL(target);
  return new Promise<{ status: number; bytes: number }>((resolve, reject) => {
    const request = http.request(
      { agent, host: url.hostname, port: url.port, path: url.pathname + url.search, method, headers },
      (response) => {
        let bytes = 0;
        response.on("data", (chunk: Buffer) => (bytes += chunk.length));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, bytes }));
        response.on("error", reject);
      },
    );
    request.setTimeout(30_000, () => request.destroy(new Error("no answer within 30 s")));
    request.on("error", reject);
    request.end(body);
  });
}

/** A registered account with SEED_FILES small files named after WORDS, and their ids. */
async function seedAccount(url: string, index: number): Promise<Account> {
  const account = await registerBenchUser(url, `load${index}`);
  for (let i = 0; i < SEED_FILES; i++) {
    const body = Buffer.from(`${WORDS[i % WORDS.length]} ${i}\n`.repeat(200));
    const response = await fetch(`${url}/api/uploads`, {
      method: "POST",
      headers: { cookie: account.cookie, ...tusCreation(`${WORDS[i % WORDS.length]}-${i}.txt`, body.length) },
      body,
    });
    if (response.status !== 201) throw new Error(`seeding failed: ${response.status} ${await response.text()}`);
  }
  const page = await (await fetch(`${url}/files`, { headers: { cookie: account.cookie } })).text();
  const fileIds = [...new Set([...page.matchAll(/href="\/download\/([A-Za-z0-9_-]+)"/g)].map((m) => m[1]!))];
  if (fileIds.length === 0) throw new Error("the seeded files are not on My files");
  return { ...account, fileIds };
}

/** HAProxy in front of the instances, round robin, keep-alive both ways. */
async function startHaproxy(work: string, apps: AppProcess[]): Promise<string> {
  const port = await freePort();
  const config = path.join(work, "haproxy.cfg");
  fs.writeFileSync(
    config,
    [
      "global",
      "  maxconn 4096",
      "defaults",
      "  mode http",
      "  timeout connect 5s",
      "  timeout client 60s",
      "  timeout server 60s",
      "  option http-keep-alive",
      "frontend coffer",
      `  bind 127.0.0.1:${port}`,
      "  default_backend instances",
      "backend instances",
      "  balance roundrobin",
      ...apps.map((app, i) => `  server coffer${i} ${new URL(app.url).host}`),
      "",
    ].join("\n"),
  );
  const haproxy = await startHaproxyProcess([config], port);
  onCleanup("stop HAProxy", () => haproxy.stop());
  return haproxy.url;
}

function readRss(pid: number): number {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return Number(kb ?? 0) * 1024;
  } catch {
    return 0;
  }
}

function printRow(label: string, outcomes: Outcome[], seconds: number) {
  const sorted = outcomes.map((o) => o.ms).sort((a, b) => a - b);
  const at = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! : 0);
  const errors = outcomes.filter((o) => o.error).length;
  const ms = (value: number) => `${value.toFixed(0)} ms`;
  console.log(
    `| ${label} | ${outcomes.length} | ${errors} | ${(outcomes.length / seconds).toFixed(0)} | ${ms(at(50))} | ${ms(at(95))} | ${ms(at(99))} | ${ms(sorted.at(-1) ?? 0)} |`,
  );
}

runBenchmark(main);
