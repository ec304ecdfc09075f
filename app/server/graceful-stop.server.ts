import type http from "node:http";
import type https from "node:https";
import type { Server as SocketServer } from "socket.io";
import type { Services } from "~/services/index.server";
import type { ConnectionDrain } from "./drain.server";
import { TUS_PATH } from "./tus-host.server";

export interface ShutdownOptions {
  /** How long requests in flight may take to finish. */
  graceMs: number;
  /**
   * Before the drain: how long to go on serving as usual, /readyz 503, while load balancers
   * take the instance out of their pool (SHUTDOWN_DELAY_SECONDS).
   */
  delayMs?: number;
  /** Called once per step, with what is worth logging about it. */
  step?: (name: string, fields?: Record<string, unknown>) => void;
}

/** How long an upload stopped at the deadline may take to answer with its offset. */
const STOPPED_UPLOAD_ANSWER_MS = 2_000;

/**
 * The app server's graceful stop, in order: /readyz 503 (then, with a delay, serving as usual
 * while load balancers notice), drain (no new connections), let
 * requests in flight finish within the grace period, stop the uploads still running so they
 * keep what arrived, cut the rest, close Socket.IO (clients reconnect elsewhere), end the jobs.
 * The drivers are closed afterwards by the caller.
 */
export function gracefulStop(parts: {
  httpServer: http.Server | https.Server;
  drain: ConnectionDrain;
  io: SocketServer;
  services: Services;
  /** Starts no more job runs; resolves when those under way have ended. */
  stopJobs: () => Promise<void>;
  closeVite: () => Promise<void>;
  /** From now on /readyz answers 503. */
  onDraining: () => void;
}): (options: ShutdownOptions) => Promise<void> {
  const { httpServer, drain, io, services } = parts;
  return async ({ graceMs, delayMs = 0, step = () => {} }) => {
    parts.onDraining();
    if (delayMs > 0) {
      // Closing idle keep-alive connections while a balancer still picks this instance races
      // its next request on them: one with a body it cannot replay (an upload) would fail.
      step("leaving the load balancer's pool", { delaySeconds: delayMs / 1000 });
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
    const deadline = performance.now() + graceMs;
    httpServer.close();
    drain.begin();
    // Runs under way end within the grace period too; what is left of one is done next time.
    const jobsEnded = parts.stopJobs();
    step("draining", {
      graceSeconds: graceMs / 1000,
      requests: drain.requests().length,
      uploads: drain.requests().filter(({ req }) => patchedUploadId(req)).length,
      realtimeClients: io.engine.clientsCount,
    });

    const started = performance.now();
    if (await drain.settled(graceMs)) {
      step("requests finished", { waitedMs: Math.round(performance.now() - started) });
    } else {
      const left = drain.requests();
      const patches = left.filter(({ req }) => patchedUploadId(req));
      step("grace period over", { requests: left.length, uploads: patches.length });
      const terminator = services.uploadTerminator;
      if (patches.length > 0 && terminator) {
        const stopping = performance.now();
        // All at once: each waits for its request to let go of the upload's lock.
        await Promise.all(patches.map(({ req }) => terminator.stop([patchedUploadId(req)!])));
        const answered = await settledWithin(
          patches.map(({ res }) => responseClosed(res)),
          STOPPED_UPLOAD_ANSWER_MS,
        );
        step("uploads stopped", { uploads: patches.length, answered, tookMs: Math.round(performance.now() - stopping) });
      }
      step("connections cut", { requests: drain.cut() });
    }

    const clients = io.engine.clientsCount;
    await new Promise<void>((resolve) => io.close(() => resolve()));
    step("realtime closed", { clients });
    const jobsEndedInTime = await settledWithin([jobsEnded], Math.max(0, deadline - performance.now()));
    step("jobs stopped", { cutShort: jobsEndedInTime === 0 });
    await parts.closeVite();
  };
}

/** The upload a tus PATCH writes to; null for any other request. */
function patchedUploadId(req: http.IncomingMessage): string | null {
  if (req.method !== "PATCH") return null;
  const { pathname } = new URL(req.url ?? "/", "http://localhost");
  if (!pathname.startsWith(`${TUS_PATH}/`)) return null;
  try {
    return decodeURIComponent(pathname.slice(TUS_PATH.length + 1)) || null;
  } catch {
    return null;
  }
}

function responseClosed(res: http.ServerResponse): Promise<void> {
  return res.closed ? Promise.resolve() : new Promise((resolve) => res.once("close", () => resolve()));
}

/** How many of `promises` settled within `ms`. */
async function settledWithin(promises: Promise<unknown>[], ms: number): Promise<number> {
  let settled = 0;
  const counted = promises.map((promise) => promise.finally(() => settled++));
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.allSettled(counted), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
  return settled;
}
