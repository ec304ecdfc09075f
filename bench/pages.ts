/**
 * `npm run bench:pages` — page latency with tracing off and on (100 % sampling), in one run.
 *
 * Two Coffer processes (production build, bench/lib/server.ts) share one temporary embedded
 * PostgreSQL and local storage: one without OTEL_* variables, one exporting every trace over
 * OTLP/HTTP to a local sink (bench/lib/otlp-sink.ts). Each gets a user with BENCH_FILES files in
 * My files; then the same logged-in page (`BENCH_PAGE`, default /files) is requested from each in
 * turn, BENCH_REQUESTS times, one at a time, and the latency seen by the client is reported
 * (median, p95, mean) with the ratio on ÷ off. Alternating the two keeps drift (other load on the
 * machine) out of the ratio. Prints; asserts nothing. Target: at most 5 % slower.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { startEmbeddedPostgres } from "../app/services/embedded-postgres.server";
import { freePort } from "../tests/setup/free-port";
import { registerBenchUser } from "./lib/account";
import { type AppProcess, startAppProcess } from "./lib/app-process";
import { cleanUpOnSignals, onCleanup, runBenchmark } from "./lib/cleanup";
import { startOtlpSink, tracingEnv } from "./lib/otlp-sink";

const REPO = path.resolve(import.meta.dirname, "..");
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 300);
const FILES = Number(process.env.BENCH_FILES ?? 50);
const PAGE = process.env.BENCH_PAGE ?? "/files";
const WARMUP = 30;

interface Contender {
  label: string;
  app: AppProcess;
  cookie: string;
  samples: number[];
}

async function main() {
  cleanUpOnSignals();
  if (!fs.existsSync(path.join(REPO, "build/server/index.js"))) throw new Error("No production build: run `npm run build` first.");
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-bench-pages-"));
  fs.chmodSync(work, 0o755);
  onCleanup("remove temp dir", () => fs.rmSync(work, { recursive: true, force: true }));
  const load = os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");
  console.log(`Coffer page latency, tracing off vs on: ${REQUESTS} × GET ${PAGE} each, ${FILES} files, load average ${load}`);

  const pg = await startEmbeddedPostgres({ dataDir: path.join(work, "pg", "data"), port: await freePort(), database: "coffer_bench" });
  onCleanup("stop embedded Postgres", () => pg.stop(), 20_000);
  const sink = await startOtlpSink();
  onCleanup("stop the OTLP sink", () => sink.close());

  const env = (name: string): Record<string, string> => {
    const dataDir = path.join(work, name);
    fs.mkdirSync(dataDir, { recursive: true });
    return {
      LOG_LEVEL: "warn",
      DATA_DIR: dataDir,
      DATABASE_URL: pg.url,
      SESSION_SECRET: "bench-secret-that-is-at-least-32-characters-long",
      RATE_LIMIT_API: "1000000/1m",
      RATE_LIMIT_GENERAL: "1000000/1m",
    };
  };
  const contenders: Contender[] = [];
  // One after the other: the first runs the migrations.
  for (const [label, extra] of [
    ["tracing off", {}],
    ["tracing on (100 %)", tracingEnv(sink.endpoint)],
  ] as const) {
    const app = await startAppProcess({ ...env(label.replace(/\W+/g, "-")), ...extra });
    onCleanup(`stop server (pid ${app.pid})`, () => app.stop(), 20_000);
    const { cookie } = await registerBenchUser(app.url, label.split(" ")[1]!);
    await seedFiles(app.url, cookie);
    contenders.push({ label, app, cookie, samples: [] });
  }

  for (const contender of contenders) for (let i = 0; i < WARMUP; i++) await getPage(contender);
  for (let i = 0; i < REQUESTS; i++) {
    // Alternate which goes first, so neither always follows the other.
    const order = i % 2 === 0 ? contenders : [...contenders].reverse();
    for (const contender of order) contender.samples.push(await getPage(contender));
  }
  for (const contender of contenders) await contender.app.stop();

  const [off, on] = contenders.map((c) => ({ label: c.label, ...stats(c.samples) }));
  console.log(`\n| | median | p95 | mean |`);
  console.log(`|---|---|---|---|`);
  for (const row of [off!, on!]) console.log(`| ${row.label} | ${ms(row.p50)} | ${ms(row.p95)} | ${ms(row.mean)} |`);
  console.log(
    `| on ÷ off | ${(on!.p50 / off!.p50).toFixed(3)} | ${(on!.p95 / off!.p95).toFixed(3)} | ${(on!.mean / off!.mean).toFixed(3)} |`,
  );
  console.log(`\nspans exported to the sink: ${(sink.received() / 1024).toFixed(0)} KiB (OTLP/HTTP protobuf). Target: on ÷ off ≤ 1.05.`);
}

/** Small files into My files, each one tus request (creation with upload), so the page lists them. */
async function seedFiles(url: string, cookie: string) {
  for (let i = 0; i < FILES; i++) {
    const body = Buffer.from(`file ${i}\n`.repeat(20));
    const response = await fetch(`${url}/api/uploads`, {
      method: "POST",
      headers: {
        cookie,
        "Tus-Resumable": "1.0.0",
        "Upload-Length": String(body.length),
        "Upload-Metadata": `filename ${Buffer.from(`report-${String(i).padStart(3, "0")}.txt`).toString("base64")}`,
        "Content-Type": "application/offset+octet-stream",
      },
      body,
    });
    if (response.status !== 201) throw new Error(`seeding failed: ${response.status} ${await response.text()}`);
  }
}

async function getPage({ app, cookie }: Contender): Promise<number> {
  const started = performance.now();
  const response = await fetch(`${app.url}${PAGE}`, { headers: { cookie } });
  await response.arrayBuffer();
  const elapsed = performance.now() - started;
  if (response.status !== 200) throw new Error(`GET ${PAGE}: ${response.status}`);
  return elapsed;
}

function stats(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
  return { p50: at(50), p95: at(95), mean: samples.reduce((a, b) => a + b, 0) / samples.length };
}

const ms = (value: number) => `${value.toFixed(2)} ms`;

runBenchmark(main);
