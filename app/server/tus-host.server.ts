import { Server as TusServer } from "@tus/server";
import { ERRORS, EVENTS, Upload, type DataStore } from "@tus/utils";
import { isAppError, AppError } from "~/domain/errors";
import { mustEnrollMfa } from "~/domain/accounts/mfa.server";
import { getUserFromCookieHeader, type SessionUser } from "~/domain/accounts/sessions.server";
import { currentRequestScope } from "~/domain/request-scope.server";
import { hasScope } from "~/domain/tokens/scopes";
import { authenticateBearer, isBearerAuthorization } from "~/domain/tokens/tokens.server";
import { UploadHasher } from "~/domain/uploads/upload-hash.server";
import { UploadScanner } from "~/domain/uploads/upload-scan.server";
import { assertUploadsScannable, recordObjectVerdict, scanningEnabled, settleScan } from "~/domain/files/malware-scans.server";
import {
  completeUpload,
  createPendingUpload,
  pendingUploadFor,
  releaseCancelledUpload,
  type PendingWithFolder,
} from "~/domain/uploads/uploads.server";
import { formatBytes } from "~/lib/format";
import { createTusKvStore, createTusLocker } from "~/services/cache/tus.server";
import { isDependencyUnavailable } from "~/services/dependency.server";
import type { Services, UploadTerminator } from "~/services/index.server";
import { metrics } from "~/services/metrics.server";

/**
 * The tus host: the protocol server, its data store, locker and events, and the answers it
 * sends. What an upload may be, where it lands and what it costs is decided in
 * domain/uploads/.
 */

export const TUS_PATH = "/api/uploads";

type TusError = { status_code: number; body: string };

function tusError(status: number, message: string): TusError {
  return { status_code: status, body: message };
}

/**
 * Maps domain errors to tus responses; anything unexpected is logged and answered generically.
 * A dependency that is down is kept as it is: the HTTP host answers it (503, problem+json).
 */
function toTusError(services: Services, error: unknown): TusError {
  if (isDependencyUnavailable(error)) throw error;
  if (isAppError(error)) return tusError(error.status, error.message);
  if (error && typeof error === "object" && "status_code" in error) return error as TusError;
  services.log.error("upload hook failed", { error });
  return tusError(500, "The upload could not be processed. Please try again.");
}

/** Who is uploading: the token's user when the request carries one, else the session's. */
async function uploader(services: Services, headers: Headers): Promise<SessionUser | null> {
  const authorization = headers.get("authorization");
  if (!isBearerAuthorization(authorization)) return getUserFromCookieHeader(services, headers.get("cookie"));
  const principal = await authenticateBearer(services, authorization, currentRequestScope()?.ip ?? null);
  if (!hasScope(principal, "files:write")) throw tusError(403, "This access token cannot upload: it needs the files:write scope.");
  return principal.user;
}

/**
 * The tus endpoint. Every request is authenticated by the session cookie, or by an access token
 * with `files:write` (then by the token alone, whatever cookie comes along); an upload can only
 * be continued, inspected or cancelled by the user who created it.
 */
export function createUploadServer(services: Services): TusServer {
  const users = new WeakMap<object, SessionUser>();
  // The upload whose row a POST created, until it is finished: a creation that fails removes it.
  const createdBy = new WeakMap<object, string>();
  // What a PATCH request looked up about its upload (or a POST created), so finishing it does not look again.
  const pendings = new WeakMap<object, PendingWithFolder>();
  const kvStore = createTusKvStore(services.cache);
  const datastore = services.storage.createTusDataStore({
    expirationPeriodInMilliseconds: services.config.uploads.expiryMs,
    kvStore,
  });
  const hasher = new UploadHasher();
  hasher.wrap(datastore);
  // Malware scanning (CLAMD_URL) in the same pass, one clamd session per upload across its PATCHes.
  const scanner = new UploadScanner(services);
  if (scanningEnabled(services)) scanner.wrap(datastore);
  const finishedInCreation = answerFinishedCreations(datastore);

  const server = new TusServer({
    path: TUS_PATH,
    datastore,
    locker: createTusLocker(services.cache),
    relativeLocation: true,
    respectForwardedHeaders: services.config.trustProxy !== false,
    maxSize: services.config.uploads.maxSize,
    disableTerminationForFinishedUploads: true,

    async onIncomingRequest(req, uploadId) {
      try {
        kvStore?.assertAvailable();
        const user = await uploader(services, req.headers);
        if (!user) throw tusError(401, "Your session has ended. Log in again; the upload will resume where it stopped.");
        if (await mustEnrollMfa(services, user))
          throw tusError(403, "Set up two-step verification first: this Coffer requires it for administrators.");
        users.set(req, user);
        // clamd down with CLAMD_UNAVAILABLE=refuse: 503 before a byte is stored.
        if (req.method === "POST" || req.method === "PATCH") await assertUploadsScannable(services);
        if (req.method === "POST") return;
        if (req.method === "GET") throw tusError(405, "Download files from Coffer's download links.");
        const pending = await pendingUploadFor(services, user, uploadId, req.method);
        if (req.method === "PATCH") pendings.set(req, pending);
      } catch (error) {
        throw toTusError(services, error);
      }
    },

    async onUploadCreate(req, upload) {
      try {
        const user = users.get(req);
        if (!user) throw tusError(401, "Log in to upload files.");
        const { metadata, pending } = await createPendingUpload(services, user, upload);
        createdBy.set(req, upload.id);
        pendings.set(req, pending);
        return { metadata };
      } catch (error) {
        throw toTusError(services, error);
      }
    },

    async onUploadFinish(req, upload) {
      // From here the upload is a file (or refused by completeUpload, which cleans up itself).
      createdBy.delete(req);
      try {
        const discard = () =>
          Promise.all([forgetFinishedUpload(services, upload.id, kvStore), services.storage.delete(upload.id)]).then(
            () => {},
            (error) => services.log.warn("could not remove a refused upload's data", { uploadId: upload.id, error }),
          );
        // The verdict is on the object before it becomes a file: it is never served without one.
        if (scanningEnabled(services)) {
          await recordObjectVerdict(services, upload.id, await settleScan(services, scanner.take(upload.id, upload.size ?? -1)));
        }
        const file = await completeUpload(services, upload, hasher.take(upload.id, upload.size ?? -1), discard, pendings.get(req));
        if (req.method === "POST") finishedInCreation(upload);
        // Coffer-File-Place: "folder", or "trash"/"root" when the folder was trashed/deleted meanwhile.
        return { headers: { "Coffer-File-Id": file.id, "Coffer-File-Place": file.place } };
      } catch (error) {
        metrics().uploadsFailed.inc({ stage: "complete" });
        throw toTusError(services, error);
      }
    },

    onResponseError(_req, error) {
      // Thrown on to the HTTP host, which answers 503 with Retry-After and a problem+json body.
      if (isDependencyUnavailable(error)) throw error;
      if (error instanceof AppError) return tusError(error.status, error.message);
      if ("status_code" in error) {
        // tus's own refusal when Upload-Length exceeds the configured ceiling.
        if (error.status_code === 413 && error.body === ERRORS.ERR_MAX_SIZE_EXCEEDED.body) {
          return tusError(413, `This file is larger than the ${formatBytes(services.config.uploads.maxSize)} upload limit.`);
        }
        return undefined;
      }
      services.log.error("upload request failed", { error });
      return tusError(500, "The upload failed on the server. It can be resumed; please try again.");
    },
  });

  abandonFailedCreations(services, server, createdBy, hasher, scanner);

  // Once the response has gone out, the tus bookkeeping beside the object is no longer needed:
  // the finished upload is now a file, and its object stays under the same key.
  server.on(EVENTS.POST_CREATE, () => metrics().uploadsCreated.inc());
  server.on(EVENTS.POST_FINISH, (_req, _res, upload: Upload) => {
    metrics().uploadsCompleted.inc();
    void forgetFinishedUpload(services, upload.id, kvStore).catch((error) =>
      services.log.warn("could not remove tus metadata of a finished upload", { uploadId: upload.id, error }),
    );
  });
  // A client cancelling its upload (tus termination) releases the quota it reserved at once.
  server.on(EVENTS.POST_TERMINATE, (_req, _res, uploadId: string) => {
    hasher.forget(uploadId);
    scanner.forget(uploadId);
    void releaseCancelledUpload(services, uploadId).catch((error) =>
      services.log.warn("could not remove a cancelled upload's row", { uploadId, error }),
    );
  });
  return server;
}

/**
 * A POST whose upload could not be created in the store (or failed after, before its upload
 * finished) leaves nothing: the client got no Location, so nobody can resume it. Its row, which
 * reserved quota, is removed, and whatever the store holds of it; what the store cannot remove
 * now (it is down) is swept with the expired uploads.
 */
function abandonFailedCreations(
  services: Services,
  server: TusServer,
  createdBy: WeakMap<object, string>,
  hasher: UploadHasher,
  scanner: UploadScanner,
) {
  const post = server.handlers.POST;
  const send = post.send.bind(post);
  post.send = async (req, context, headers) => {
    try {
      return await send(req, context, headers);
    } catch (error) {
      const uploadId = createdBy.get(req);
      if (uploadId) {
        createdBy.delete(req);
        hasher.forget(uploadId);
        scanner.forget(uploadId);
        await releaseCancelledUpload(services, uploadId).catch((failure) =>
          services.log.warn("could not remove the row of an upload whose creation failed", { uploadId, error: failure }),
        );
        await server.datastore.remove(uploadId).catch(() => {});
      }
      throw error;
    }
  };
}

/**
 * After a creation request finishes its upload, tus asks the store for the upload once more, only
 * to see whether it is unfinished (then it announces its expiry). An upload finished just now is
 * not: that answer is given without reading the store (on local disk, a stat and a read of its
 * record per small file). Ids are taken by the next look at them, which is that one.
 */
function answerFinishedCreations(datastore: DataStore): (upload: Upload) => void {
  const finished = new Map<string, number>();
  const getUpload = datastore.getUpload.bind(datastore);
  datastore.getUpload = async (id) => {
    const size = finished.get(id);
    if (size === undefined) return getUpload(id);
    finished.delete(id);
    return new Upload({ id, size, offset: size });
  };
  // Where tus does not look (no expiry), nothing is kept for it.
  const looks = datastore.hasExtension("expiration") && datastore.getExpiration() > 0;
  return (upload) => {
    if (looks && upload.size !== undefined) finished.set(upload.id, upload.size);
  };
}

/** Metadata records tus leaves: `<id>.info` (S3 store), `<id>.json` (file store), or a Redis key. */
async function forgetFinishedUpload(services: Services, uploadId: string, kvStore: { delete(key: string): Promise<void> } | undefined) {
  await kvStore?.delete(uploadId);
  await services.storage.deleteMany([`${uploadId}.info`, `${uploadId}.json`]);
}

/** How long termination waits for a request still writing to the upload to let go of it. */
const TERMINATE_LOCK_WAIT_MS = 5_000;

export function createUploadTerminator(services: Services, uploads: TusServer): UploadTerminator {
  return {
    deleteExpired: () => uploads.datastore.deleteExpired(),
    async terminate(uploadIds) {
      let terminated = 0;
      for (const id of uploadIds) if (await terminateUpload(services, uploads, id)) terminated++;
      return { terminated, failed: uploadIds.length - terminated };
    },
    async stop(uploadIds) {
      // Taking the lock is what makes tus end a request writing to the upload; nothing is removed.
      for (const id of uploadIds) await (await lockUpload(uploads, id))();
    },
  };
}

/**
 * Removes one unfinished upload's data through the tus store (S3: aborts the multipart upload
 * and deletes its .info; local: the partial file and its record), then any side objects left.
 * Like tus's own termination it first takes the upload's lock, which asks a request still
 * writing to it to stop; if that takes too long it goes ahead anyway. False when the store
 * failed (logged).
 */
async function terminateUpload(services: Services, uploads: TusServer, id: string): Promise<boolean> {
  let ok = true;
  const unlock = await lockUpload(uploads, id);
  try {
    await uploads.datastore.remove(id);
  } catch (error) {
    // 404: the store never had it or it is gone already.
    if ((error as { status_code?: number } | null)?.status_code !== 404) {
      ok = false;
      services.log.warn("could not remove the data of an unfinished upload", { uploadId: id, error });
    }
  } finally {
    await unlock();
  }
  await services.storage.deleteMany([id, `${id}.info`, `${id}.json`, `${id}.part`]).catch((error) => {
    ok = false;
    services.log.warn("could not remove the objects of an unfinished upload", { uploadId: id, error });
  });
  return ok;
}

async function lockUpload(uploads: TusServer, id: string): Promise<() => Promise<void>> {
  const nothing = async () => {};
  const locker = uploads.options.locker;
  if (typeof locker === "function") return nothing;
  try {
    const lock = (await locker).newLock(id);
    await lock.lock(AbortSignal.timeout(TERMINATE_LOCK_WAIT_MS), async () => {});
    return () => lock.unlock().catch(() => {});
  } catch {
    return nothing;
  }
}
