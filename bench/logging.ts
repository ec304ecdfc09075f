/**
 * The cost of one log line: calls services.log with the fields a request's lines typically carry
 * (and an Error), writing to a sink that keeps nothing, and prints nanoseconds per line for
 * lines written (outside and inside a request's log context) and for lines below LOG_LEVEL. Asserts nothing.
 *
 * Knobs (env): BENCH_LINES (default 200000), BENCH_ROUNDS (default 5; the fastest is reported).
 */
import { runWithLogContext } from "../app/services/log-context.server";
import { createLogger } from "../app/services/logger.server";

const LINES = Number(process.env.BENCH_LINES ?? 200_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

/** CPU time per line (user + system), the fastest of the rounds: the machine's other load only adds. */
function nsPerLine(run: (i: number) => void): number {
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < ROUNDS; round++) {
    const started = process.cpuUsage();
    for (let i = 0; i < LINES; i++) run(i);
    const used = process.cpuUsage(started);
    best = Math.min(best, ((used.user + used.system) * 1000) / LINES);
  }
  return best;
}

let bytes = 0;
const sink = (line: string) => void (bytes += line.length);
const log = createLogger("info", sink);
const error = new Error("connect ECONNREFUSED 127.0.0.1:5432");

const results = {
  "info, 4 fields": nsPerLine((i) => log.info("request", { method: "GET", route: "page", status: 200, duration_ms: i % 300 })),
  "warn, an Error and a secret": nsPerLine(() => log.warn("metrics: could not read storage totals", { error, token: "abc" })),
  "info, inside a request": runWithLogContext({ requestId: "0f8e2b1c-4b7e-4b0a-9d4f-1f2e3d4c5b6a", route: "page", userId: "u1" }, () =>
    nsPerLine((i) => log.info("request", { method: "GET", route: "page", status: 200, duration_ms: i % 300 })),
  ),
  "debug (below the level)": nsPerLine((i) => log.debug("request", { method: "GET", route: "static", status: 200, duration_ms: i })),
};
for (const [name, ns] of Object.entries(results)) console.log(`${name.padEnd(32)} ${ns.toFixed(0).padStart(6)} ns/line`);
console.log(`(${(bytes / 2 ** 20).toFixed(0)} MiB of lines written)`);
