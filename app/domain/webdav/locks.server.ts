// WebDAV write locks (RFC 4918 §6–7), kept in the cache driver so that every instance sees them
// (with Redis; the memory driver serves one process). One record per user holds that user's
// locks, changed under a short cache lock; paths are the user's WebDAV paths without /dav/.
import { randomBytes } from "node:crypto";
import type { Services } from "~/services/index.server";
import { AppError } from "../errors";

export interface DavLock {
  token: string;
  /** The locked path ("" is the top, "a/b" below it). */
  path: string;
  depth: "0" | "infinity";
  scope: "exclusive" | "shared";
  /** The client's <owner> content as XML (may be empty). */
  owner: string;
  timeoutSeconds: number;
  expiresAt: number;
}

export const DEFAULT_LOCK_SECONDS = 3600;
export const MAX_LOCK_SECONDS = 7 * 24 * 3600;
const MAX_LOCKS_PER_USER = 1000;

/**
 * A lock token: an absolute URI that is never reused. Short on purpose: clients echo it in If
 * headers beside two entity tags, and some (litmus, through neon) cut that header at 200 bytes.
 */
function newLockToken(): string {
  return `coffer-lock:${randomBytes(16).toString("base64url")}`;
}

const recordKey = (userId: string) => `webdav:locks:${userId}`;

export class LockedError extends AppError {
  constructor(readonly lockedPath: string) {
    super(423, "The resource is locked.");
  }
}

/** Whether `lock` applies to `path`: the path itself, or below a depth-infinity lock. */
export function lockCovers(lock: DavLock, path: string): boolean {
  if (lock.path === path) return true;
  if (lock.depth !== "infinity") return false;
  return lock.path === "" ? path !== "" : path.startsWith(`${lock.path}/`);
}

/** Whether `lock` is on `path` or anywhere below it. */
export function lockWithin(lock: DavLock, path: string): boolean {
  return lock.path === path || path === "" || lock.path.startsWith(`${path}/`);
}

export async function userLocks(services: Services, userId: string, now = Date.now()): Promise<DavLock[]> {
  const raw = await services.cache.get(recordKey(userId));
  if (!raw) return [];
  return (JSON.parse(raw) as DavLock[]).filter((lock) => lock.expiresAt > now);
}

async function changeLocks<T>(
  services: Services,
  userId: string,
  change: (locks: DavLock[]) => { locks: DavLock[]; result: T },
): Promise<T> {
  let mutex = null;
  for (let attempt = 0; attempt < 100 && !mutex; attempt++) {
    mutex = await services.cache.tryLock(`webdav:locks-mutex:${userId}`, 5_000);
    if (!mutex) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  if (!mutex) throw new AppError(503, "The locks are busy. Please try again.");
  try {
    const { locks, result } = change(await userLocks(services, userId));
    const longest = Math.max(0, ...locks.map((lock) => lock.expiresAt - Date.now()));
    if (locks.length === 0) await services.cache.delete(recordKey(userId));
    else await services.cache.set(recordKey(userId), JSON.stringify(locks), longest + 1000);
    return result;
  } finally {
    await mutex.release();
  }
}

/** "Second-600", "Infinite", several comma-separated: the first one understood, capped. */
export function parseTimeout(header: string | null | undefined): number {
  for (const part of (header ?? "").split(",")) {
    const value = part.trim();
    if (/^infinite$/i.test(value)) return MAX_LOCK_SECONDS;
    const seconds = /^Second-(\d{1,10})$/i.exec(value);
    if (seconds) return Math.min(Math.max(1, Number(seconds[1])), MAX_LOCK_SECONDS);
  }
  return DEFAULT_LOCK_SECONDS;
}

/** Takes a new lock, or throws 423 when a conflicting lock is on the path, above it or (depth infinity) below it. */
export function createLock(
  services: Services,
  userId: string,
  request: Pick<DavLock, "path" | "depth" | "scope" | "owner" | "timeoutSeconds">,
): Promise<DavLock> {
  return changeLocks(services, userId, (locks) => {
    const conflicting = locks.find(
      (lock) =>
        (lockCovers(lock, request.path) || (request.depth === "infinity" && lockWithin(lock, request.path))) &&
        (lock.scope === "exclusive" || request.scope === "exclusive"),
    );
    if (conflicting) throw new LockedError(conflicting.path);
    if (locks.length >= MAX_LOCKS_PER_USER) throw new AppError(503, "Too many locks are held. Unlock some first.");
    const lock: DavLock = { ...request, token: newLockToken(), expiresAt: Date.now() + request.timeoutSeconds * 1000 };
    return { locks: [...locks, lock], result: lock };
  });
}

/** Restarts a lock's timeout; null when the token is not a live lock covering `path`. */
export function refreshLock(
  services: Services,
  userId: string,
  token: string,
  path: string,
  timeoutSeconds: number,
): Promise<DavLock | null> {
  return changeLocks(services, userId, (locks) => {
    const lock = locks.find((l) => l.token === token && lockCovers(l, path));
    if (!lock) return { locks, result: null };
    lock.timeoutSeconds = timeoutSeconds;
    lock.expiresAt = Date.now() + timeoutSeconds * 1000;
    return { locks, result: lock };
  });
}

/** Removes the lock `token` when it covers `path`; false when there is no such lock. */
export function removeLock(services: Services, userId: string, token: string, path: string): Promise<boolean> {
  return changeLocks(services, userId, (locks) => {
    const kept = locks.filter((lock) => !(lock.token === token && lockCovers(lock, path)));
    return { locks: kept, result: kept.length < locks.length };
  });
}

/** After a DELETE or MOVE: the locks on `path` and below go with it. */
export function removeLocksWithin(services: Services, userId: string, path: string): Promise<void> {
  return changeLocks(services, userId, (locks) => ({ locks: locks.filter((lock) => !lockWithin(lock, path)), result: undefined }));
}
