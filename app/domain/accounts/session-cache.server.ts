import { createHash } from "node:crypto";
import type { Services } from "~/services/index.server";

/**
 * The session rows this process looked up in the last few seconds, so that the requests of one
 * browser (a page, its data requests, downloads, each chunk of an upload) do not each cost a
 * statement. Entries are dropped
 * - when a session ends anywhere (sign-out, revocation, a password change, deactivation): in
 *   this process through the notifier, in the others through Socket.IO's Redis adapter
 *   (app/server/realtime.server.ts), so a signed-out cookie stops working everywhere at once;
 * - when this process writes a session or user row through Prisma (the whole cache, except for
 *   one session's own last-seen refresh, which drops that session only);
 * - after SESSION_CACHE_TTL_MS at the latest, which bounds what no event reports (another
 *   instance changing a user's name or role without ending their sessions).
 * Expiry (idle and absolute timeouts) is checked on every request against the cached times.
 */
export const SESSION_CACHE_TTL_MS = 5_000;
/** A bound on memory: beyond it the oldest entries go first. */
const MAX_ENTRIES = 10_000;

interface Entry<Row> {
  row: Row;
  expires: number;
}

export interface SessionCache<Row> {
  get(sessionId: string): Row | undefined;
  /**
   * Remembers a row read by a lookup that began at `generation` (see generation()): when a
   * session ended or was written meanwhile, the row may predate it and is not kept.
   */
  set(sessionId: string, row: Row, generation: number): void;
  /** Changes whenever entries are dropped. */
  generation(): number;
  /** Drops the sessions named by their keys (sessionKeyOf), e.g. from another instance. */
  forgetKeys(keys: string[]): void;
  forget(sessionId: string): void;
  clear(): void;
}

/** A digest of the session id: what instances tell each other (the id itself is a credential). */
export function sessionKeyOf(sessionId: string): string {
  return createHash("sha256").update(sessionId).digest("base64url").slice(0, 22);
}

// On a global: the tests load the app's sources beside the build, and both copies must share one cache per app.
const caches = ((globalThis as Record<symbol, unknown>)[Symbol.for("coffer.sessionCache")] ??= new WeakMap<
  Services,
  SessionCache<unknown>
>()) as WeakMap<Services, SessionCache<unknown>>;

export function sessionCacheOf<Row>(services: Services): SessionCache<Row> {
  let cache = caches.get(services) as SessionCache<Row> | undefined;
  if (!cache) {
    cache = createSessionCache<Row>();
    caches.set(services, cache as SessionCache<unknown>);
    watchForChanges(services, cache);
  }
  return cache;
}

function watchForChanges(services: Services, cache: SessionCache<unknown>): void {
  services.notifier.onSessionsEnded?.((sessionIds) => {
    for (const id of sessionIds) cache.forget(id);
  });
  services.db?.onWrite?.((model, operation, args) => {
    if (model !== "Session" && model !== "User") return;
    // A new row changes nothing that is cached.
    if (operation === "create" || operation === "createMany" || operation === "createManyAndReturn") return;
    const id = (args as { where?: { id?: unknown } } | undefined)?.where?.id;
    if (model === "Session" && typeof id === "string") cache.forget(id);
    else cache.clear();
  });
}

export function createSessionCache<Row>(now: () => number = Date.now): SessionCache<Row> {
  const entries = new Map<string, Entry<Row>>();
  let generation = 0;
  return {
    get(sessionId) {
      const key = sessionKeyOf(sessionId);
      const entry = entries.get(key);
      if (!entry) return undefined;
      if (entry.expires > now()) return entry.row;
      entries.delete(key);
      return undefined;
    },
    set(sessionId, row, startedAt) {
      if (startedAt !== generation) return;
      const key = sessionKeyOf(sessionId);
      entries.delete(key);
      if (entries.size >= MAX_ENTRIES) entries.delete(entries.keys().next().value!);
      entries.set(key, { row, expires: now() + SESSION_CACHE_TTL_MS });
    },
    generation: () => generation,
    forgetKeys(keys) {
      generation++;
      for (const key of keys) entries.delete(key);
    },
    forget(sessionId) {
      generation++;
      entries.delete(sessionKeyOf(sessionId));
    },
    clear() {
      generation++;
      entries.clear();
    },
  };
}
