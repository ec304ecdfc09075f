import type http from "node:http";
import type https from "node:https";
import type { Redis } from "ioredis";
import { Server as SocketServer } from "socket.io";
import { mustEnrollMfa } from "~/domain/accounts/mfa.server";
import { getUserFromCookieHeader, sessionKey } from "~/domain/accounts/sessions.server";
import { sessionCacheOf } from "~/domain/accounts/session-cache.server";
import { isSameOriginRequest } from "./origin-check.server";
import { isRedisCache } from "~/services/cache/is-redis";
import type { Services } from "~/services/index.server";
import { metrics } from "~/services/metrics.server";
import type { LiveEvent } from "~/lib/live-event";

export const userRoom = (userId: string) => `user:${userId}`;
/** The server-side event (between instances, through Redis) that names the sessions that ended. */
const SESSIONS_ENDED = "coffer:sessions-ended";
/** Named by a digest: the session id is a credential and room names travel through Redis. */
const sessionRoom = (sessionId: string) => `session:${sessionKey(sessionId)}`;

/**
 * Socket.IO on the app's HTTP server. Connections are authenticated by the session cookie and
 * join their user's room; with Redis, the adapter fans events out across all app instances.
 */
/** The session's user, unless an admin must first set up two-step verification (as on every page). */
async function liveUser(services: Services, cookieHeader: string | null) {
  const user = await getUserFromCookieHeader(services, cookieHeader);
  return user && !(await mustEnrollMfa(services, user)) ? user : null;
}

export async function attachRealtime(httpServer: http.Server | https.Server, services: Services): Promise<SocketServer> {
  const io = new SocketServer(httpServer, {
    path: "/socket.io",
    serveClient: false,
    // Same-origin browsers with a session only: browsers send Origin on websocket upgrades and
    // polling requests. Refused here, a handshake never gets an Engine.IO session at all.
    allowRequest: (req, callback) => {
      if (!isSameOriginRequest(req, services.config)) return callback("cross-origin request refused", false);
      liveUser(services, req.headers.cookie ?? null).then(
        (user) => callback(user ? null : "sign in first", Boolean(user)),
        (error: unknown) => {
          services.log.error("socket authentication failed", { error });
          callback("unavailable", false);
        },
      );
    },
  });

  const redisClients = redisClientsFor(services);
  // Instances of one deployment (one REDIS_PREFIX) share events; other deployments on the same Redis don't.
  if (redisClients) {
    // Imported only with Redis: a single instance needs no adapter.
    const { createAdapter } = await import("@socket.io/redis-adapter");
    io.adapter(createAdapter(redisClients.pub, redisClients.sub, { key: `${redisClients.prefix}socket.io` }));
  }

  io.use(async (socket, next) => {
    try {
      const user = await liveUser(services, socket.request.headers.cookie ?? null);
      if (!user) return next(new Error("unauthorized"));
      socket.data.userId = user.id;
      socket.data.sessionRoom = sessionRoom(user.sessionId);
      next();
    } catch (error) {
      services.log.error("socket authentication failed", { error });
      next(new Error("unavailable"));
    }
  });
  const { socketsConnected, socketEvents } = metrics();
  io.on("connection", (socket) => {
    socketsConnected.inc();
    socketEvents.inc({ direction: "received", event: "connection" });
    socket.once("disconnect", () => {
      socketsConnected.dec();
      socketEvents.inc({ direction: "received", event: "disconnect" });
    });
    // Browsers send nothing; whatever a client sends is counted under one name, never its own.
    socket.onAny(() => socketEvents.inc({ direction: "received", event: "other" }));
    void socket.join([userRoom(socket.data.userId as string), socket.data.sessionRoom as string]);
  });

  services.notifier.attach({
    toUser(userId: string, event: LiveEvent) {
      io.to(userRoom(userId)).emit("event", event);
      socketEvents.inc({ direction: "emitted", event: event.type.replace(":", "_") });
    },
    endSessions(sessionIds: string[]) {
      socketEvents.inc({ direction: "emitted", event: "session_end" });
      const rooms = sessionIds.map(sessionRoom);
      // This instance's sockets at once: the Redis adapter would reach them only through its own
      // subscription, so a slow or lost Redis message would leave a revoked session connected.
      io.local.in(rooms).disconnectSockets(true);
      // With the Redis adapter, also every other instance's, and their session caches.
      if (redisClients) {
        io.in(rooms).disconnectSockets(true);
        io.serverSideEmit(SESSIONS_ENDED, sessionIds.map(sessionKey));
      }
    },
  });
  // Another instance ended sessions: stop accepting their cookies here at once, not after the cache's few seconds.
  io.on(SESSIONS_ENDED, (keys: unknown) => {
    if (Array.isArray(keys)) sessionCacheOf(services).forgetKeys(keys.filter((key): key is string => typeof key === "string"));
  });

  const close = io.close.bind(io);
  // Closing ends each client's transport without a Socket.IO "disconnect" packet: the browser
  // sees "transport close" and reconnects (socket.io-client's backoff, through the load
  // balancer to another instance), where disconnectSockets() would tell it to stay away.
  // The adapter unsubscribes while Socket.IO closes: with Redis up, quit its clients only
  // afterwards; with Redis down, drop them first so its commands fail at once instead of retrying.
  io.close = async (callback) => {
    const clients = redisClients ? [redisClients.pub, redisClients.sub] : [];
    const healthy = clients.every((client) => client.status === "ready");
    if (!healthy) for (const client of clients) client.disconnect();
    // Socket.IO would also close the HTTP server and wait for its "close" event, which may have
    // gone by already (it would then wait forever): the app server closes its own listener.
    (io as { httpServer?: unknown }).httpServer = undefined;
    await close();
    if (healthy) await Promise.allSettled(clients.map((client) => client.quit()));
    for (const client of clients) client.disconnect();
    callback?.();
  };
  return io;
}

function redisClientsFor(services: Services): { pub: Redis; sub: Redis; prefix: string } | null {
  if (!isRedisCache(services.cache)) return null;
  return { pub: services.cache.duplicateClient(), sub: services.cache.duplicateClient(), prefix: services.cache.prefix };
}
