import { Server as TusServer } from "@tus/server";
import { ERRORS, EVENTS, type Upload } from "@tus/utils";
import type { Services } from "~/services/index.server";
import { createTusKvStore, createTusLocker } from "~/services/cache/tus.server";
import { canWrite } from "./access.server";
import { AppError, ValidationError, isAppError } from "./errors";
import { detectMimeType } from "./files.server";
import { assertNameFree, getRootFolder, getWritableFolder } from "./folders.server";
import { recordActivity } from "./activity.server";
import { addFileWithPolicy, uploadPolicyFrom } from "./versions.server";
import { cleanName } from "./names";
import { parseUploadPath, resolveUploadFolder } from "./upload-paths.server";
import { hashStoredFile, UploadHasher } from "./upload-hash.server";
import { assertTypeAllowed, tooLargeError, uploadAllowance } from "./quota.server";
import { mustEnrollMfa } from "./mfa.server";
import { getUserFromCookieHeader, type SessionUser } from "./sessions.server";
import { formatBytes } from "~/lib/format";
import { metrics } from "~/services/metrics.server";

export const TUS_PATH = "/api/uploads";

type TusError = { status_code: number; body: string };

function tusError(status: number, message: string): TusError {
  return { status_code: status, body: message };
}

/** Maps domain errors to tus responses; anything unexpected is logged and answered generically. */
function toTusError(services: Services, error: unknown): TusError {
  if (isAppError(error)) return tusError(error.status, error.message);
  if (error && typeof error === "object" && "status_code" in error) return error as TusError;
  services.log.error("upload hook failed", { error });
  return tusError(500, "The upload could not be processed. Please try again.");
}

/**
 * The tus endpoint. Every request is authenticated by the session cookie; an upload can only
 * be continued, inspected or cancelled by the user who created it.
 */
export function createUploadServer(services: Services): TusServer {
  const users = new WeakMap<object, SessionUser>();
  const kvStore = createTusKvStore(services.cache);
  const datastore = services.storage.createTusDataStore({
    expirationPeriodInMilliseconds: services.config.uploads.expiryMs,
    kvStore,
  });
  const hasher = new UploadHasher();
  hasher.wrap(datastore);

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
        const user = await getUserFromCookieHeader(services, req.headers.get("cookie"));
        if (!user) throw tusError(401, "Your session has ended. Log in again; the upload will resume where it stopped.");
        if (await mustEnrollMfa(services, user)) throw tusError(403, "Set up two-step verification first: this Coffer requires it for administrators.");
        users.set(req, user);
        if (req.method === "POST") return;
        if (req.method === "GET") throw tusError(405, "Download files from Coffer's download links.");
        const upload = await services.prisma.upload.findUnique({ where: { id: uploadId }, select: { ownerId: true, folderId: true } });
        if (!upload || upload.ownerId !== user.id) throw tusError(404, "This upload does not exist or has expired. Start it again.");
        if (req.method === "PATCH" && !(await mayStillUploadInto(services, user, upload.folderId))) {
          throw tusError(404, "The folder this upload goes into was not found, or it is no longer shared with you. Nothing more was saved.");
        }
      } catch (error) {
        throw toTusError(services, error);
      }
    },

    async onUploadCreate(req, upload) {
      try {
        const user = users.get(req);
        if (!user) throw tusError(401, "Log in to upload files.");
        if (upload.size === undefined) throw new ValidationError("The upload must declare its size (Upload-Length).");
        const name = cleanName(upload.metadata?.filename ?? "", "File name");
        // A file from a dropped folder carries its directory ("Photos/2024/") relative to the
        // folder it was dropped into; checked before anything is created.
        const segments = parseUploadPath(upload.metadata?.relativePath);
        const target = await getWritableFolder(services, user, upload.metadata?.folderId || null);
        await assertTypeAllowed(services, name);
        // The declared size is reserved at creation from the folder owner's storage (pending
        // uploads count as used; see PENDING_UPLOAD_CHARGES), so the bytes that arrive later can
        // never take the owner over quota.
        const allowance = await uploadAllowance(services, target.ownerId, user.id);
        if (upload.size > allowance.maxBytes) throw tooLargeError(allowance);
        // Missing folders of the path are created now (find-or-create, race-safe), so the
        // pending upload points at the deepest one.
        const folder = await resolveUploadFolder(services, target, segments, user.id);
        // "Cancel" refuses a taken name before any bytes are sent.
        if (uploadPolicyFrom(upload.metadata?.onConflict) === "cancel") await assertNameFree(services, folder.id, name);
        await services.prisma.upload.create({
          data: { id: upload.id, ownerId: user.id, folderId: folder.id, name, size: BigInt(upload.size) },
        });
        // The path is resolved into folderId now; it is not kept so nothing resolves it twice.
        const metadata: Record<string, string | null> = { ...upload.metadata, filename: name, folderId: folder.id };
        delete metadata.relativePath;
        return { metadata };
      } catch (error) {
        throw toTusError(services, error);
      }
    },

    async onUploadFinish(_req, upload) {
      try {
        const file = await completeUpload(services, upload, hasher.take(upload.id, upload.size ?? -1));
        return { headers: { "Coffer-File-Id": file.id } };
      } catch (error) {
        metrics().uploadsFailed.inc({ stage: "complete" });
        throw toTusError(services, error);
      }
    },

    onResponseError(_req, error) {
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
    void services.prisma.upload.deleteMany({ where: { id: uploadId } }).catch((error) =>
      services.log.warn("could not remove a cancelled upload's row", { uploadId, error }),
    );
  });
  return server;
}

/**
 * Whether bytes may still go into the folder an upload was created for: access is checked
 * again at every PATCH, so a share revoked (or its owner deactivated) since the upload began
 * stops it. What arrived is kept, and the upload resumes if access comes back. A folder gone
 * meanwhile is no reason to refuse: the file then lands in the uploader's root (completeUpload).
 */
async function mayStillUploadInto(services: Services, user: SessionUser, folderId: string): Promise<boolean> {
  const folder = await services.prisma.folder.findUnique({ where: { id: folderId }, select: { id: true, ownerId: true } });
  if (!folder || folder.ownerId === user.id) return true;
  return canWrite(services, user, { kind: "folder", id: folder.id, ownerId: folder.ownerId });
}

/** Metadata records tus leaves: `<id>.info` (S3 store), `<id>.json` (file store), or a Redis key. */
async function forgetFinishedUpload(services: Services, uploadId: string, kvStore: { delete(key: string): Promise<void> } | undefined) {
  await kvStore?.delete(uploadId);
  await services.storage.deleteMany([`${uploadId}.info`, `${uploadId}.json`]);
}

async function completeUpload(services: Services, upload: Upload, sha256: string | null) {
  const pending = await services.prisma.upload.findUnique({ where: { id: upload.id } });
  if (!pending) throw tusError(404, "This upload does not exist or has expired.");
  // Files belong to the folder's owner. If the folder went away while the bytes were on their
  // way, the file lands in the uploader's root folder rather than being lost.
  const target = await services.prisma.folder.findUnique({ where: { id: pending.folderId }, select: { id: true, ownerId: true, trashedAt: true } });
  const folder = target && !target.trashedAt ? target : await getRootFolder(services, pending.ownerId);
  // With encryption at rest the plaintext upload is encrypted into a new object here.
  const storageKey = (await services.storage.adoptUpload?.(upload.id, Number(pending.size))) ?? upload.id;
  const newFile = {
    ownerId: folder.ownerId,
    folderId: folder.id,
    name: pending.name,
    size: Number(pending.size),
    mimeType: detectMimeType(pending.name, upload.metadata?.filetype),
    storageKey,
    sha256,
  };
  // A name taken meanwhile under "cancel" keeps both rather than losing the bytes just received.
  const policy = uploadPolicyFrom(upload.metadata?.onConflict) === "replace" ? "replace" : "keep-both";
  const file = await addFileWithPolicy(services, newFile, policy, pending.ownerId).catch(async (error) => {
    if (storageKey !== upload.id) await services.storage.delete(storageKey).catch(() => {});
    throw error;
  });
  if (storageKey !== upload.id) await services.storage.delete(upload.id);
  await recordActivity(services.prisma, { userId: pending.ownerId, action: "file.uploaded", subjectType: "file", subjectId: file.id, details: { name: file.name, size: newFile.size } });
  await services.prisma.upload.delete({ where: { id: upload.id } });
  if (!sha256) {
    void hashStoredFile(services, file.id).catch((error) => services.log.warn("could not hash a finished upload", { fileId: file.id, error }));
  }
  return file;
}

/**
 * Ends unfinished uploads at once instead of leaving them to the periodic expiry cleanup (an
 * account being deleted). Registered on Services by the app server, which owns the tus store.
 */
export interface UploadTerminator {
  /** Never throws: what the store could not remove is logged and left to the periodic cleanup. */
  terminate(uploadIds: string[]): Promise<{ terminated: number; failed: number }>;
  /**
   * Asks requests still writing to these uploads to stop (a deactivated account), keeping what
   * they stored so the upload can resume later. Never throws.
   */
  stop(uploadIds: string[]): Promise<void>;
}

/** How long termination waits for a request still writing to the upload to let go of it. */
const TERMINATE_LOCK_WAIT_MS = 5_000;

export function createUploadTerminator(services: Services, uploads: TusServer): UploadTerminator {
  return {
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

/**
 * Removes uploads abandoned for longer than UPLOAD_EXPIRY_HOURS: their partial data (local
 * partial files, S3 multipart uploads and .info objects) and their pending rows, which also
 * releases the quota they reserved. Then lets the store sweep anything expired it still knows,
 * including what an earlier termination could not remove.
 */
export async function cleanupAbandonedUploads(services: Services, uploads: TusServer, now = new Date()) {
  const cutoff = new Date(now.getTime() - services.config.uploads.expiryMs);
  let removed = 0;
  // Kept (still reserving quota) when the store failed, and tried again at the next run.
  const failed: string[] = [];
  for (;;) {
    const stale = await services.prisma.upload.findMany({ where: { createdAt: { lt: cutoff }, id: { notIn: failed } }, select: { id: true }, take: 200 });
    if (stale.length === 0) break;
    for (const { id } of stale) {
      if (!(await terminateUpload(services, uploads, id))) {
        failed.push(id);
        continue;
      }
      await services.prisma.upload.deleteMany({ where: { id } });
      removed++;
    }
  }
  const swept = await uploads.datastore.deleteExpired().catch((error) => {
    services.log.warn("tus expiry sweep failed", { error });
    return 0;
  });
  return { removed, swept };
}
