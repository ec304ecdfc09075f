import type http from "node:http";
import type https from "node:https";
import type { ServerBuild } from "@remix-run/node";
import { createRequestHandler } from "@remix-run/express";
import compression from "compression";
import express from "express";
import type { Services } from "~/services/index.server";
import { attachRealtime } from "~/services/realtime.server";
import type { Server as TusServer } from "@tus/server";
import { createUploadServer, TUS_PATH } from "~/domain/uploads.server";
import { startJobs } from "~/domain/jobs.server";
import { readiness } from "./health.server";
import { originCheck } from "./origin-check.server";
import { securityHeaders } from "./security-headers.server";
import { createListener, httpsRedirect } from "./tls.server";

export interface AppServer {
  /** HTTPS when TLS_CERT_FILE and TLS_KEY_FILE are set. */
  httpServer: http.Server | https.Server;
  /** The tus server (its datastore is what upload cleanup works on). */
  uploads: TusServer;
  close(): Promise<void>;
}

export interface AppServerOptions {
  services: Services;
  /** Production: the built server bundle. Development: Vite in middleware mode. */
  mode: { kind: "production"; build: ServerBuild; clientDir: string } | { kind: "development" };
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

/** One HTTP server: Remix pages, the tus endpoint, Socket.IO and health checks. */
export async function createAppServer({ services, mode }: AppServerOptions): Promise<AppServer> {
  const app = express();
  const { config } = services;
  const httpServer = createListener(app, config);
  app.disable("x-powered-by");
  app.set("trust proxy", config.trustProxy);
  app.use(securityHeaders(config, mode.kind));
  app.use(httpsRedirect(config));

  app.get("/healthz", (_req, res) => {
    res.type("text/plain").send("ok");
  });
  app.get("/readyz", async (_req, res) => {
    const report = await readiness(services);
    res.status(report.ok ? 200 : 503).json(report);
  });

  app.use(originCheck(config.appUrl, services.log));

  // Uploads bypass compression and body parsing: bytes stream straight into the store.
  const uploads = createUploadServer(services);
  app.all([TUS_PATH, `${TUS_PATH}/*`], (req, res) => {
    uploads.handle(req, res).catch((error) => {
      services.log.error("tus handler failed", { error });
      if (!res.headersSent) res.status(500).send("The upload failed on the server.");
    });
  });

  app.use(closeConnectionIfBodyUnread);
  app.use(compression({ filter: (req, res) => !req.path.startsWith("/download/") && compression.filter(req, res) }));

  let build: ServerBuild | (() => Promise<ServerBuild>);
  let closeVite: () => Promise<void> = async () => {};
  if (mode.kind === "development") {
    const vite = await import("vite");
    const viteServer = await vite.createServer({ server: { middlewareMode: true, hmr: { server: httpServer as http.Server } } });
    app.use(viteServer.middlewares);
    build = () => viteServer.ssrLoadModule("virtual:remix/server-build") as Promise<ServerBuild>;
    closeVite = () => viteServer.close();
  } else {
    app.use("/assets", express.static(`${mode.clientDir}/assets`, { immutable: true, maxAge: "1y" }));
    app.use(express.static(mode.clientDir, { maxAge: "1h" }));
    build = mode.build;
  }

  app.all(
    "*",
    createRequestHandler({
      build,
      mode: mode.kind,
      getLoadContext: (req, res) => ({ services, clientIp: req.ip ?? null, cspNonce: res.locals.cspNonce }),
    }),
  );

  const io = attachRealtime(httpServer, services);
  const stopJobs = startJobs(services, { uploads });

  return {
    httpServer,
    uploads,
    async close() {
      stopJobs();
      await new Promise<void>((resolve) => io.close(() => resolve()));
      await closeVite();
      await new Promise<void>((resolve) => {
        httpServer.close(() => resolve());
        httpServer.closeAllConnections();
      });
    },
  };
}
