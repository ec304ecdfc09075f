import fs from "node:fs";
import type http from "node:http";
import type https from "node:https";
import type { ServerBuild } from "@remix-run/node";
import compression from "compression";
import express from "express";
import type { Services } from "~/services/index.server";
import { attachRealtime } from "./realtime.server";
import type { Server as TusServer } from "@tus/server";
import { createUploadServer, createUploadTerminator, TUS_PATH } from "./tus-host.server";
import { tuneGarbageCollector } from "./gc-tuning.server";
import { tusRequestHandler } from "./tus-request.server";
import { webdavHandler } from "./webdav/handler.server";
import { DAV_PREFIX } from "./webdav/paths.server";
import { startJobs } from "~/domain/jobs/jobs.server";
import { runInRequestScope, type RequestScope } from "~/domain/request-scope.server";
import { cookiesAreSecure } from "~/lib/cookies.server";
import { csrfProtection, renewCsrfCookie } from "./csrf.server";
import { limitByClass, limitByToken, TooManyRequestsError } from "~/domain/rate-limit.server";
import { accessTokenId } from "~/domain/tokens/tokens.server";
import type { RateLimitClass } from "~/config.server";
import type { ViteDevServer } from "vite";
import { drainingReport, readiness } from "./health.server";
import { trackConnections } from "./drain.server";
import { gracefulStop, type ShutdownOptions } from "./graceful-stop.server";
import { remixRequestHandler } from "./remix-handler.server";
import { isOneClickUnsubscribe, originCheck } from "./origin-check.server";
import { isBearerOnlyRequest } from "./bearer-requests.server";
import { publicOrigin, type OriginSettings } from "./public-origin.server";
import { securityHeaders } from "./security-headers.server";
import { createListener, httpsRedirect } from "./tls.server";
import { metricsEndpoint, metricsOff, observeHttpRequests } from "./metrics-endpoint.server";
import { collectProcessMetrics } from "~/services/metrics.server";
import { isDependencyUnavailable } from "~/services/dependency.server";
import { problemBody } from "~/route-helpers/api/problem.server";
import { sendUnavailable } from "./unavailable.server";
import { loggablePath, requestLogging } from "./request-log.server";
import { recordServerErrors } from "./server-errors.server";
import { announceInstance } from "~/services/instances.server";

export interface AppServer {
  /** HTTPS when TLS_CERT_FILE and TLS_KEY_FILE are set. */
  httpServer: http.Server | https.Server;
  /** The tus server (its datastore is what upload cleanup works on). */
  uploads: TusServer;
  /**
   * Stops gracefully: no new connections, /readyz 503, requests in flight get `graceMs` to
   * finish; uploads still running then keep what arrived, and what is left is cut. Then Socket.IO
   * clients are told to reconnect and the jobs stop. The drivers stay open (closeServices).
   */
  shutdown(options: ShutdownOptions): Promise<void>;
  /** shutdown() without a grace period. */
  close(): Promise<void>;
}

export interface AppServerOptions {
  services: Services;
  /**
   * Production: the built server bundle. Development: Vite in middleware mode, whose HMR socket
   * listens for the WebSocket upgrades forwarded to `upgrades` (see load-runtime.server.ts).
   */
  mode: { kind: "production"; build: ServerBuild; clientDir: string } | { kind: "development"; vite: ViteDevServer; upgrades: http.Server };
}

/**
 * When a response is sent before the request body was read (a refused upload), the body
 * parser may have torn the socket down; tell the client not to reuse the connection.
 */
function closeConnectionIfBodyUnread(req: express.Request, res: express.Response, next: express.NextFunction) {
  const writeHead = res.writeHead;
  res.writeHead = function (this: express.Response, ...args: Parameters<typeof writeHead>) {
    if (!req.complete) this.setHeader("Connection", "close");
    return writeHead.apply(this, args);
  } as typeof writeHead;
  next();
}

/** Where a request came from, for audit entries written by domain code (request-scope.server.ts). */
function requestScopeOf(req: express.Request): RequestScope {
  const scope: RequestScope = { ip: req.ip ?? null, userAgent: req.get("user-agent")?.slice(0, 512) ?? null };
  if (req.method === "GET" || req.method === "HEAD") scope.sessionUsers = new Map();
  return scope;
}

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

/** A plain page: the refusal must be understandable without the app's scripts and styles. */
function refuseForgedRequest(req: express.Request, res: express.Response, settings: OriginSettings) {
  const origin = publicOrigin(req, settings);
  const back = origin && req.get("referer")?.startsWith(`${origin}/`) ? req.get("referer")! : "/";
  res
    .status(403)
    .type("html")
    .set("Cache-Control", "no-store")
    .send(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Form expired · Coffer</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 36rem; margin: 4rem auto; padding: 0 1rem; color: #0f172a">
<h1>This form has expired</h1>
<p>Coffer could not confirm that this request came from one of its own pages, so nothing was changed. This happens when a page was open for a long time, when cookies were cleared, or when another website tried to send the request.</p>
<p><a href="${encodeURI(back).replace(/"/g, "%22")}">Go back, reload the page</a> and try again.</p>
</body></html>`);
}

/** The API and tus: scripts, which get problem+json whatever they accept. */
function isApiRequest(req: express.Request): boolean {
  const path = req.originalUrl.split("?")[0]!;
  return path.startsWith("/api/v1/") || path === TUS_PATH || path.startsWith(`${TUS_PATH}/`);
}

/** Per-IP limits by class of route; auth forms add their own, stricter limits in their actions. */
function rateLimitMiddleware(services: Services, routeClass: (req: express.Request) => RateLimitClass) {
  return (req: express.Request, res: express.Response, next: express.NextFunction) => {
    const tokenId = routeClass(req) === "api" ? accessTokenId(req.headers.authorization) : null;
    limitByClass(services, routeClass(req), req.ip ?? null)
      .then(() => (tokenId ? limitByToken(services, tokenId) : undefined))
      .then(
        () => next(),
        (error: unknown) => {
          if (!(error instanceof TooManyRequestsError)) return next(error);
          res.status(429).set({ "Retry-After": String(error.retryAfter), "Cache-Control": "no-store" });
          if (isApiRequest(req)) {
            res.type("application/problem+json").send(problemBody(429, error.message));
          } else if (req.accepts(["html", "text"]) === "html") {
            res
              .type("html")
              .send(
                `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Too many requests · Coffer</title></head>` +
                  `<body><main><h1>Too many requests</h1><p>${error.message}</p><p><a href="/files">Go to my files</a></p></main></body></html>`,
              );
          } else {
            res.type("text/plain").send(error.message);
          }
        },
      );
  };
}

/**
 * Errors no handler answered: one JSON log line, and a plain answer without a stack trace
 * (Express's own handler prints one, and sends it in responses outside production). A 4xx an
 * Express middleware attached (a malformed path for the static files, say) keeps its status.
 */
function lastResortErrorHandler(services: Services): express.ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    if (isDependencyUnavailable(error) && !res.headersSent) {
      services.log.warn("request refused: dependency unavailable", {
        method: req.method,
        path: loggablePath(req.path),
        dependency: error.dependency,
      });
      sendUnavailable(req, res, error);
      return;
    }
    // A download whose store went away midway: cut (never a short answer that looks complete).
    if (isDependencyUnavailable(error)) {
      services.log.warn("response cut: dependency unavailable", {
        method: req.method,
        path: loggablePath(req.path),
        dependency: error.dependency,
      });
      res.destroy();
      return;
    }
    const status = Number(
      (error as { status?: unknown; statusCode?: unknown } | null)?.status ?? (error as { statusCode?: unknown } | null)?.statusCode,
    );
    const refusal = Number.isInteger(status) && status >= 400 && status < 500;
    if (!refusal)
      services.log.error("request failed", {
        method: req.method,
        path: loggablePath(req.path),
        error,
        stack: error instanceof Error ? error.stack : undefined,
      });
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res
      .status(refusal ? status : 500)
      .set("Cache-Control", "no-store")
      .type("text/plain")
      .send(
        refusal ? "The request could not be understood." : "Something went wrong on our side. Nothing you did caused it; please try again.",
      );
  };
}

/** Names of the files at the top of the client build (favicon.ico, …), served as static files. */
function clientFiles(clientDir: string): Set<string> {
  try {
    return new Set(
      fs
        .readdirSync(clientDir, { withFileTypes: true })
        .filter((entry) => entry.isFile())
        .map((entry) => entry.name),
    );
  } catch {
    return new Set();
  }
}

/**
 * `serve` (the static files of the client build) only for paths that start with one of the
 * directory's entries (or are percent-encoded): every page request would otherwise cost a
 * filesystem lookup that finds nothing. The build does not change while the server runs.
 */
function onlyForEntriesOf(directory: string, serve: express.RequestHandler): express.RequestHandler {
  let entries: Set<string>;
  try {
    entries = new Set(fs.readdirSync(directory));
  } catch {
    entries = new Set();
  }
  return (req, res, next) => {
    const first = req.path.split("/", 2)[1] ?? "";
    if (entries.has(first) || req.path.includes("%")) serve(req, res, next);
    else next();
  };
}

/** One HTTP server: Remix pages, the tus endpoint, Socket.IO and health checks. */
export async function createAppServer({ services, mode }: AppServerOptions): Promise<AppServer> {
  tuneGarbageCollector();
  const app = express();
  const { config } = services;
  const httpServer = createListener(app, config);
  // Node's default gives every request 5 minutes in total, which cuts off any upload PATCH that
  // takes longer (a 256 MiB chunk below 7 Mbit/s). Instead a connection is closed only when it
  // stalls; headers must still arrive within headersTimeout (60 s).
  httpServer.requestTimeout = 0;
  httpServer.setTimeout(config.httpIdleTimeoutMs);
  app.disable("x-powered-by");
  app.set("trust proxy", config.trustProxy);
  const requestLog = requestLogging({
    log: services.log,
    trustProxy: config.trustProxy,
    staticFiles: mode.kind === "production" ? clientFiles(mode.clientDir) : new Set(),
  });
  app.use(requestLog.withLogContext);
  app.use(securityHeaders(config, mode.kind));
  app.use(httpsRedirect(config));

  app.get("/healthz", (_req, res) => {
    res.type("text/plain").send("ok");
  });
  let draining = false;
  app.get("/readyz", async (_req, res) => {
    if (draining) {
      res.status(503).json(drainingReport());
      return;
    }
    const report = await readiness(services);
    res.status(report.ok ? 200 : 503).json(report);
  });

  // Before the origin and CSRF checks (a GET needs neither), compression and the rate limits: a
  // scraper polls from one address every few seconds and must not use up the general budget of
  // that address (often a proxy users share), and guessing a token of 16+ characters is hopeless.
  app.get("/metrics", config.metricsToken ? metricsEndpoint(services, config.metricsToken) : metricsOff);

  app.use(originCheck(config, services.log));

  // Uploads bypass compression and body parsing: bytes stream straight into the store.
  const uploads = createUploadServer(services);
  const handleTusRequest = tusRequestHandler(uploads, config);
  services.uploadTerminator = createUploadTerminator(services, uploads);
  app.use(
    "/api",
    rateLimitMiddleware(services, () => "api"),
  );
  app.all([TUS_PATH, `${TUS_PATH}/*`], (req, res) => {
    runInRequestScope(requestScopeOf(req), () => handleTusRequest(req, res)).catch((error) => {
      if (isDependencyUnavailable(error)) {
        if (!res.headersSent) sendUnavailable(req, res, error);
        return;
      }
      services.log.error("tus handler failed", { error });
      if (!res.headersSent) res.status(500).send("The upload failed on the server.");
    });
  });

  app.use(closeConnectionIfBodyUnread);
  // WebDAV clients authenticate every request with an app password (no cookie rides along) and
  // stream file bodies: mounted before compression, body parsing and the CSRF check.
  const handleDav = webdavHandler(services);
  app.use(
    DAV_PREFIX,
    rateLimitMiddleware(services, () => "api"),
    (req, res, next) => runInRequestScope(requestScopeOf(req), () => handleDav(req, res, next)),
  );
  app.use(compression({ filter: (req, res) => !req.path.startsWith("/download/") && compression.filter(req, res) }));
  if (mode.kind === "production") {
    // Before the CSRF check, which would give every cookieless request a CSRF cookie: a shared
    // cache (a CDN) must be able to keep these, and must never hand one visitor's cookie to others.
    app.use("/assets", express.static(`${mode.clientDir}/assets`, { immutable: true, maxAge: "1y" }));
    app.use(onlyForEntriesOf(mode.clientDir, express.static(mode.clientDir, { maxAge: "1h" })));
  }
  // tus and Socket.IO are reached by scripts of the app, which authenticate with the session and
  // are held to same-origin requests; everything else that changes state carries a CSRF token.
  app.use(
    csrfProtection(services, {
      // The API's token requests carry no cookie for a forged request to ride on.
      // RFC 8058's one-click unsubscribe carries no token of ours by design (see isOneClickUnsubscribe).
      exempt: (path, req) =>
        path.startsWith("/socket.io/") || (path.startsWith("/api/") && isBearerOnlyRequest(req)) || isOneClickUnsubscribe(req),
      refuse: (req, res, reason) => {
        // Over plain HTTP a browser drops Secure cookies, so the form could never pass: say why.
        if (
          reason === "missing-cookie" &&
          cookiesAreSecure(services.config) &&
          req.protocol === "http" &&
          !LOOPBACK_HOSTS.has(req.hostname)
        ) {
          res.removeHeader("Set-Cookie");
          res
            .status(400)
            .type("text/plain")
            .send(
              config.appUrl
                ? `You opened Coffer over plain HTTP, so your browser would not keep its cookies. Use ${new URL(config.appUrl).origin}.`
                : `You opened Coffer over plain HTTP, so your browser would not keep its cookies. Use https://${req.get("host")}, or, if plain HTTP is intended, set APP_URL=http://${req.get("host")} and restart Coffer.`,
            );
          return;
        }
        refuseForgedRequest(req, res, config);
      },
    }),
  );

  let build: ServerBuild | (() => Promise<ServerBuild>);
  let closeVite: () => Promise<void> = async () => {};
  if (mode.kind === "development") {
    const { vite: viteServer, upgrades } = mode;
    httpServer.on("upgrade", (req, socket, head) => upgrades.emit("upgrade", req, socket, head));
    app.use(viteServer.middlewares);
    build = () => viteServer.ssrLoadModule("virtual:remix/server-build") as Promise<ServerBuild>;
    closeVite = () => viteServer.close();
  } else {
    build = mode.build;
  }

  app.use(rateLimitMiddleware(services, (req) => (req.path.startsWith("/s/") ? "share" : "general")));
  const handleRemixRequest = remixRequestHandler({
    build,
    mode: mode.kind,
    origin: config,
    getLoadContext: (req, res) => ({
      services,
      clientIp: req.ip ?? null,
      csrfToken: String(res.locals.csrfToken),
      renewCsrfToken() {
        this.csrfToken = renewCsrfCookie(services, res);
      },
      cspNonce: res.locals.cspNonce,
      // Remix's single-fetch data requests end in `.data`; everything else renders HTML.
      rendersDocument: !req.path.endsWith(".data"),
      pageTexts: new Map(),
    }),
  });
  app.all("*", (req, res, next) => runInRequestScope(requestScopeOf(req), () => handleRemixRequest(req, res, next)));
  app.use(lastResortErrorHandler(services));

  const io = await attachRealtime(httpServer, services);
  const staticFiles = mode.kind === "production" ? clientFiles(mode.clientDir) : new Set<string>();
  if (config.metricsToken) {
    collectProcessMetrics();
    // Added after Socket.IO, which wraps the listeners before it: this one sees its requests too.
    httpServer.prependListener("request", observeHttpRequests(staticFiles));
  }
  // For /admin/system: this instance's 5xx by route class, and (with Redis) its presence.
  httpServer.prependListener("request", recordServerErrors(staticFiles));
  const withdrawInstance = announceInstance(services);
  // First of all (after Socket.IO, like the metrics): every request gets its id and access line.
  httpServer.prependListener("request", requestLog.onRequest);
  const stopJobs = startJobs(services, { uploads: services.uploadTerminator });
  // The job queues are defined before the first request (the admin jobs page lists them).
  await stopJobs.ready;
  const stop = gracefulStop({
    httpServer,
    // After Socket.IO, like the metrics above: it sees Socket.IO's long polls, and does not wait for them.
    drain: trackConnections(httpServer, (req) => req.url?.startsWith("/socket.io/") ?? false),
    io,
    services,
    stopJobs: () => Promise.all([stopJobs(), withdrawInstance()]).then(() => {}),
    closeVite,
    onDraining: () => (draining = true),
  });
  let shutdown: Promise<void> | null = null;
  const shutdownOnce = (options: ShutdownOptions) => (shutdown ??= stop(options));
  return { httpServer, uploads, shutdown: shutdownOnce, close: () => shutdownOnce({ graceMs: 0 }) };
}
