#!/usr/bin/env node
import { createHash, randomBytes } from "node:crypto";

// After a deploy: is the new release healthy? Exit 0 yes, 1 no (the deploy workflow then rolls
// back), 2 for a usage error. Plain Node (20+), no dependencies: it runs on any CI runner.
//
//   scripts/deploy-smoke.sh https://files.example.com
//
// 1. Waits up to SMOKE_WAIT_SECONDS (300) for /healthz and /readyz to answer 200.
// 2. Watches SMOKE_WATCH_SECONDS (60): /readyz must stay 200 and the server error ratio must stay
//    at or below SMOKE_MAX_ERROR_RATIO (0.02). The ratio comes from
//    - PROMETHEUS_URL: the instant query SMOKE_ERROR_QUERY (default: 5xx ÷ answered requests of
//      the user-facing routes over the watch window, the SLO's definition in
//      deploy/monitoring/prometheus/rules/coffer-slo.rules.yml), run at the end of the window; or
//    - METRICS_TOKEN: two scrapes of BASE_URL/metrics, at the start and the end of the window.
//      Behind a load balancer each scrape may reach another instance: use it for one instance, or
//      pass one instance's own URL.
//    Without either, the error rate is not checked unless SMOKE_ERROR_RATE=off says so on purpose.
// 3. With SMOKE_TOKEN (an access token with files:write of an account kept for this check), walks a
//    user's journey through the API before the watch: lists the top folder, uploads a small file with
//    tus, downloads it and compares its SHA-256, then trashes it and deletes it for good.

const USER_ROUTES = "page|folder|action|api|tus|download|share";

function settings(argv, env) {
  const base = argv[0];
  if (!base || !/^https?:\/\//.test(base)) throw new UsageError("usage: deploy-smoke.sh BASE_URL (http:// or https://)");
  const number = (name, fallback) => {
    const value = env[name] === undefined || env[name] === "" ? fallback : Number(env[name]);
    if (!Number.isFinite(value) || value < 0) throw new UsageError(`${name} must be a number ≥ 0`);
    return value;
  };
  const watchSeconds = number("SMOKE_WATCH_SECONDS", 60);
  const source = env.PROMETHEUS_URL ? "prometheus" : env.METRICS_TOKEN ? "metrics" : env.SMOKE_ERROR_RATE === "off" ? "off" : null;
  if (!source) throw new UsageError("set PROMETHEUS_URL or METRICS_TOKEN to check the error rate (or SMOKE_ERROR_RATE=off)");
  const window = `${Math.max(1, Math.round(watchSeconds))}s`;
  return {
    base: base.replace(/\/+$/, ""),
    waitSeconds: number("SMOKE_WAIT_SECONDS", 300),
    watchSeconds,
    maxErrorRatio: number("SMOKE_MAX_ERROR_RATIO", 0.02),
    source,
    prometheusUrl: env.PROMETHEUS_URL?.replace(/\/+$/, ""),
    query:
      env.SMOKE_ERROR_QUERY ||
      `sum(rate(coffer_http_requests_total{route=~"${USER_ROUTES}",status="5xx"}[${window}])) / ` +
        `sum(rate(coffer_http_requests_total{route=~"${USER_ROUTES}",status!="aborted"}[${window}]))`,
    metricsToken: env.METRICS_TOKEN,
    smokeToken: env.SMOKE_TOKEN || null,
  };
}

class UsageError extends Error {}
class Unhealthy extends Error {}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (message) => console.log(`deploy-smoke: ${message}`);

async function status(url) {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5000), redirect: "manual" });
    await response.arrayBuffer();
    return response.status;
  } catch (error) {
    return `unreachable (${error.cause?.code ?? error.cause?.errors?.[0]?.code ?? error.name})`;
  }
}

async function waitForReadiness({ base, waitSeconds }) {
  const deadline = Date.now() + waitSeconds * 1000;
  let last = "";
  for (;;) {
    const [health, ready] = [await status(`${base}/healthz`), await status(`${base}/readyz`)];
    if (health === 200 && ready === 200) return log(`ready: /healthz ${health}, /readyz ${ready}`);
    const now = `/healthz ${health}, /readyz ${ready}`;
    if (now !== last) log(`waiting: ${now}`);
    last = now;
    if (Date.now() >= deadline) throw new Unhealthy(`not ready after ${waitSeconds} s: ${now}`);
    await sleep(Math.min(2000, Math.max(100, deadline - Date.now())));
  }
}

/** Server errors and answered requests of the user-facing routes, summed over a scrape. */
async function scrapeCounts({ base, metricsToken }) {
  const response = await fetch(`${base}/metrics`, {
    headers: { authorization: `Bearer ${metricsToken}` },
    signal: AbortSignal.timeout(10_000),
  });
  if (response.status !== 200) throw new Unhealthy(`GET /metrics answered ${response.status}`);
  let errors = 0;
  let answered = 0;
  for (const line of (await response.text()).split("\n")) {
    const match = /^coffer_http_requests_total\{([^}]*)\} (\S+)/.exec(line);
    if (!match) continue;
    const labels = Object.fromEntries([...match[1].matchAll(/(\w+)="([^"]*)"/g)].map(([, key, value]) => [key, value]));
    if (!new RegExp(`^(${USER_ROUTES})$`).test(labels.route) || labels.status === "aborted") continue;
    answered += Number(match[2]);
    if (labels.status === "5xx") errors += Number(match[2]);
  }
  return { errors, answered };
}

async function prometheusRatio({ prometheusUrl, query }) {
  const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(query)}`, {
    signal: AbortSignal.timeout(10_000),
  });
  const body = await response.json().catch(() => null);
  if (response.status !== 200 || body?.status !== "success")
    throw new Unhealthy(`Prometheus answered ${response.status}: ${JSON.stringify(body)}`);
  const sample = body.data?.result?.[0];
  // No sample: no traffic yet (or 0 ÷ 0), so no errors either.
  if (!sample) return 0;
  const value = Number(sample.value[1]);
  return Number.isNaN(value) ? 0 : value;
}

/** One request of the journey, which must answer `want`; anything else makes the release unhealthy. */
async function journeyStep({ base, smokeToken }, step, url, init, want) {
  let response;
  try {
    response = await fetch(new URL(url, `${base}/`), {
      ...init,
      headers: { authorization: `Bearer ${smokeToken}`, ...init.headers },
      signal: AbortSignal.timeout(15_000),
      redirect: "manual",
    });
  } catch (error) {
    throw new Unhealthy(`journey: ${step}: unreachable (${error.cause?.code ?? error.name})`);
  }
  if (response.status !== want) {
    const text = (await response.text().catch(() => "")).slice(0, 300);
    throw new Unhealthy(`journey: ${step} answered ${response.status}, not ${want}: ${text}`);
  }
  return response;
}

async function journey(config) {
  const started = Date.now();
  const tus = { "Tus-Resumable": "1.0.0" };
  const root = await (await journeyStep(config, "top folder", "/api/v1/folders/root", {}, 200)).json();
  await journeyStep(config, "listing", `/api/v1/folders/${encodeURIComponent(root.id)}/children?limit=1`, {}, 200);
  const bytes = randomBytes(64 * 1024);
  const name = `deploy-smoke-${new Date().toISOString().replace(/[:.]/g, "-")}.bin`;
  const metadata = [
    ["filename", name],
    ["onConflict", "keep-both"],
  ].map(([key, value]) => `${key} ${Buffer.from(value).toString("base64")}`);
  const created = await journeyStep(
    config,
    "upload start",
    "/api/uploads",
    { method: "POST", headers: { ...tus, "Upload-Length": String(bytes.length), "Upload-Metadata": metadata.join(",") } },
    201,
  );
  const finished = await journeyStep(
    config,
    "upload",
    created.headers.get("location") ?? "",
    { method: "PATCH", headers: { ...tus, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream" }, body: bytes },
    204,
  );
  const fileId = finished.headers.get("coffer-file-id");
  if (!fileId) throw new Unhealthy("journey: the finished upload named no file (no Coffer-File-Id header)");
  const file = `/api/v1/files/${encodeURIComponent(fileId)}`;
  let failure = null;
  try {
    const content = await journeyStep(config, "download", `${file}/content`, {}, 200);
    const sha256 = (data) => createHash("sha256").update(data).digest("hex");
    if (sha256(Buffer.from(await content.arrayBuffer())) !== sha256(bytes))
      throw new Unhealthy("journey: the downloaded file differs from the upload");
  } catch (error) {
    failure = error;
  }
  // Clean up even after a failed download, so the check leaves nothing behind.
  try {
    await journeyStep(config, "trash", `${file}/trash`, { method: "POST" }, 204);
    await journeyStep(config, "delete", file, { method: "DELETE" }, 200);
  } catch (error) {
    failure ??= error;
  }
  if (failure) throw failure;
  log(`journey: listed, uploaded, downloaded (SHA-256 matches), trashed and deleted ${name} in ${Date.now() - started} ms`);
}

async function watch(config) {
  const before = config.source === "metrics" ? await scrapeCounts(config) : null;
  const deadline = Date.now() + config.watchSeconds * 1000;
  while (Date.now() < deadline) {
    await sleep(Math.min(5000, deadline - Date.now()));
    const ready = await status(`${config.base}/readyz`);
    if (ready !== 200) throw new Unhealthy(`/readyz answered ${ready} while watching`);
  }
  let ratio = 0;
  if (config.source === "prometheus") ratio = await prometheusRatio(config);
  if (config.source === "metrics") {
    const after = await scrapeCounts(config);
    const answered = after.answered - before.answered;
    ratio = answered > 0 ? (after.errors - before.errors) / answered : 0;
    log(`${answered} requests answered in ${config.watchSeconds} s, ${after.errors - before.errors} with a 5xx`);
  }
  if (config.source === "off") return log("error rate not checked (SMOKE_ERROR_RATE=off)");
  if (ratio > config.maxErrorRatio) throw new Unhealthy(`error ratio ${ratio.toFixed(4)} is above ${config.maxErrorRatio}`);
  log(`error ratio ${ratio.toFixed(4)} (at most ${config.maxErrorRatio})`);
}

try {
  const config = settings(process.argv.slice(2), process.env);
  await waitForReadiness(config);
  if (config.smokeToken) await journey(config);
  else log("journey not walked (set SMOKE_TOKEN to walk it)");
  await watch(config);
  log("healthy");
} catch (error) {
  if (error instanceof UsageError) {
    console.error(`deploy-smoke: ${error.message}`);
    process.exit(2);
  }
  console.error(`deploy-smoke: UNHEALTHY: ${error instanceof Unhealthy ? error.message : error}`);
  process.exit(1);
}
