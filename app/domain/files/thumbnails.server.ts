import { Readable } from "node:stream";
import type { File as FileRecord, Prisma } from "~/generated/prisma/client";
import type { Services } from "~/services/index.server";
import { ObjectNotFoundError } from "~/services/storage/types";
import { thumbnailVersion } from "~/lib/thumbnails";
import type { FileReply } from "./downloads.server";
import { NotFoundError } from "../errors";
import { createFileQueue } from "./file-queue.server";
import { thumbnailKeyFor } from "./thumbnail-key";
import { claimSharedKeys, deleteUnreferencedObjects, OBJECT_LOCK_TX, referencedKeys, writeSharedObject } from "./shared-objects.server";
import { isNotModified, readDownloadHeaders } from "./request-headers";

/**
 * Types sharp decodes here. HEIC is missing: the prebuilt libvips reads HEIF only with the AV1
 * codec (AVIF), not HEVC, so HEIC files keep their icon.
 */
const THUMBNAIL_TYPES = new Set(["image/jpeg", "image/png", "image/webp", "image/gif", "image/avif", "image/tiff"]);
/** sharp collects stream input in memory before decoding, so larger sources are skipped. */
export const THUMBNAIL_MAX_SOURCE_BYTES = 50 * 1024 * 1024;
/** Decompression bombs: a small file that decodes to billions of pixels is refused. */
const MAX_INPUT_PIXELS = 50_000_000;
export const THUMBNAIL_SIZE = 256;
const BACKFILL_BATCH = 50;
/** Files this fresh are left to the queue that their upload started. */
const BACKFILL_GRACE_MS = 5 * 60 * 1000;

export function canThumbnail(file: Pick<FileRecord, "mimeType" | "size">): boolean {
  return (
    THUMBNAIL_TYPES.has(file.mimeType.split(";")[0].trim().toLowerCase()) &&
    Number(file.size) > 0 &&
    Number(file.size) <= THUMBNAIL_MAX_SOURCE_BYTES
  );
}

export { thumbnailKeyFor } from "./thumbnail-key";

export type ThumbnailOutcome = "made" | "failed" | "skipped";

/**
 * Makes the WebP thumbnail of a file's current content (EXIF-rotated, inside 256×256), stores
 * it through the storage driver and records it on the file. Content that cannot be decoded is
 * remembered (thumbnailFailedKey) so the backfill does not retry it. If the file was replaced or
 * deleted meanwhile, the new thumbnail is removed again.
 */
export async function generateThumbnail(services: Services, fileId: string): Promise<ThumbnailOutcome> {
  const seen: { storageKey?: string } = {};
  const outcome = await makeThumbnail(services, fileId, seen);
  if (outcome !== "skipped" || seen.storageKey === undefined) return outcome;
  // Deduplication may have pointed the file at another object meanwhile (and deleted the one
  // read): the same contents, so once more from the object it names now.
  const now = await services.prisma.file.findUnique({ where: { id: fileId }, select: { storageKey: true, thumbnailKey: true } });
  return now && !now.thumbnailKey && now.storageKey !== seen.storageKey ? makeThumbnail(services, fileId, {}) : outcome;
}

async function makeThumbnail(services: Services, fileId: string, seen: { storageKey?: string }): Promise<ThumbnailOutcome> {
  const file = await services.prisma.file.findUnique({
    where: { id: fileId },
    select: {
      id: true,
      ownerId: true,
      folderId: true,
      storageKey: true,
      mimeType: true,
      size: true,
      thumbnailKey: true,
      thumbnailFailedKey: true,
    },
  });
  if (!file || file.thumbnailKey || file.thumbnailFailedKey === file.storageKey || !canThumbnail(file)) return "skipped";
  seen.storageKey = file.storageKey;
  const key = thumbnailKeyFor(file.storageKey);
  // Files sharing a source object (a copy, a duplicate) share its thumbnail: taken as it is.
  if (await adoptSharedThumbnail(services, file, key)) return "made";
  // Storage trouble is not the image's fault: log it and leave the file for the backfill.
  const storageTrouble = (error: unknown): ThumbnailOutcome => {
    if (!(error instanceof ObjectNotFoundError))
      services.log.warn("could not make a thumbnail: storage failed", { fileId, error: messageOf(error) });
    return "skipped";
  };
  let source: Readable;
  try {
    source = await services.storage.get(file.storageKey);
  } catch (error) {
    return storageTrouble(error);
  }
  let webp: Buffer;
  try {
    webp = await renderThumbnail(source);
  } catch (error) {
    if (error instanceof SourceReadError) return storageTrouble(error.cause);
    services.log.warn("could not make a thumbnail: not a decodable image", { fileId, error: messageOf(error) });
    // Raw SQL here and below: bookkeeping leaves the file's modified time (@updatedAt) as it is.
    await services.prisma
      .$executeRaw`UPDATE files SET thumbnail_failed_key = ${file.storageKey} WHERE id = ${file.id} AND storage_key = ${file.storageKey}`;
    return "failed";
  }
  let updated: number;
  try {
    // Written under the key's lock: another file sharing the thumbnail may be deleted meanwhile.
    updated = await writeSharedObject(
      services,
      key,
      // The thumbnail is a few kilobytes we made ourselves; the source was streamed.
      () => services.storage.put(key, Readable.from([webp]), { size: webp.length, contentType: "image/webp" }).then(() => {}),
      (tx) => recordThumbnail(tx, file, key),
    );
  } catch (error) {
    return storageTrouble(error);
  }
  if (updated === 0) {
    await deleteUnreferencedObjects(services, [key]);
    return "skipped";
  }
  notifyThumbnail(services, file);
  return "made";
}

type ThumbnailSource = { id: string; ownerId: string; folderId: string; storageKey: string };

/** Raw SQL here and below: bookkeeping leaves the file's modified time (@updatedAt) as it is. */
function recordThumbnail(db: Prisma.TransactionClient, file: ThumbnailSource, key: string): Promise<number> {
  return db.$executeRaw`
    UPDATE files SET thumbnail_key = ${key} WHERE id = ${file.id} AND storage_key = ${file.storageKey} AND thumbnail_key IS NULL`;
}

function notifyThumbnail(services: Services, file: ThumbnailSource) {
  services.notifier.toUser(file.ownerId, {
    type: "thumbnail:ready",
    fileId: file.id,
    folderId: file.folderId,
  });
}

/** When another file names the thumbnail of this source object already, this file names it too. */
async function adoptSharedThumbnail(services: Services, file: ThumbnailSource, key: string): Promise<boolean> {
  if (!services.config.storageDedup || (await referencedKeys(services.prisma, [key])).size === 0) return false;
  const updated = await services.prisma.$transaction(async (tx) => {
    if (!(await claimSharedKeys(tx, [key]))) return 0;
    return recordThumbnail(tx, file, key);
  }, OBJECT_LOCK_TX);
  if (updated === 0) return false;
  notifyThumbnail(services, file);
  return true;
}

/** Reading the source from storage failed (as opposed to decoding it). */
class SourceReadError extends Error {
  constructor(cause: unknown) {
    super("could not read the source image", { cause });
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function renderThumbnail(source: Readable): Promise<Buffer> {
  // Loaded on the first thumbnail: libvips is large, and many servers rest without images to do.
  const { default: sharp } = await import("sharp");
  const transformer = sharp({
    limitInputPixels: MAX_INPUT_PIXELS,
    sequentialRead: true,
  })
    .rotate()
    .resize(THUMBNAIL_SIZE, THUMBNAIL_SIZE, {
      fit: "inside",
      withoutEnlargement: true,
    })
    .webp({ quality: 75 });
  const done = new Promise<Buffer>((resolve, reject) => {
    source.once("error", (error) => reject(new SourceReadError(error)));
    transformer.toBuffer().then(resolve, reject);
  });
  source.pipe(transformer);
  try {
    return await done;
  } finally {
    source.destroy();
  }
}

/** One thumbnail at a time, so decoding images never competes with requests for more than one core. */
export const thumbnailQueue = createFileQueue("file-thumbnail", generateThumbnail, "thumbnail job failed");
const queue = thumbnailQueue;

/**
 * Queues thumbnails for files whose content just arrived (upload, copy, replace, restore). Off
 * the request path; failures are logged and never reach the caller.
 */
export function scheduleThumbnails(services: Services, files: Array<Pick<FileRecord, "id" | "mimeType" | "size">>): void {
  queue.schedule(
    services,
    files.filter(canThumbnail).map((file) => file.id),
  );
}

/** Resolves once the queue is empty (tests, graceful shutdown). */
export const thumbnailsSettled = () => queue.settled();

/** The periodic safety net: image files without a thumbnail that were never tried (or whose try was lost). */
export async function backfillThumbnails(services: Services, now = new Date()): Promise<{ thumbnails: number; failed: number }> {
  const cutoff = new Date(now.getTime() - BACKFILL_GRACE_MS);
  const files = await services.prisma.$queryRaw<Array<{ id: string }>>`
    SELECT id FROM files
    WHERE thumbnail_key IS NULL AND trashed_at IS NULL
      AND (thumbnail_failed_key IS NULL OR thumbnail_failed_key <> storage_key)
      AND mime_type = ANY(${[...THUMBNAIL_TYPES]}::text[])
      AND size > 0 AND size <= ${THUMBNAIL_MAX_SOURCE_BYTES}
      AND updated_at < ${cutoff}
    ORDER BY updated_at DESC
    LIMIT ${BACKFILL_BATCH}`;
  let thumbnails = 0;
  let failed = 0;
  for (const { id } of files) {
    const outcome = await generateThumbnail(services, id);
    if (outcome === "made") thumbnails++;
    if (outcome === "failed") failed++;
  }
  return { thumbnails, failed };
}

/**
 * Streams a file's thumbnail. The caller has checked that the visitor may read the file.
 * Private caching: long when the URL names the current version, else revalidated by ETag.
 */
export async function thumbnailReply(services: Services, file: Pick<FileRecord, "thumbnailKey">, request: Request): Promise<FileReply> {
  if (!file.thumbnailKey) throw new NotFoundError("That thumbnail");
  const version = thumbnailVersion(file.thumbnailKey);
  const etag = `"t-${version}"`;
  const headers = new Headers({
    "Content-Type": "image/webp",
    ETag: etag,
    "Cache-Control": new URL(request.url).searchParams.get("v") === version ? "private, max-age=31536000, immutable" : "private, no-cache",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
  });
  // No Last-Modified is sent, so only the tag decides.
  const conditions = { ...readDownloadHeaders(request.headers), ifModifiedSince: null };
  if (isNotModified(conditions, etag, new Date(0))) return { status: 304, headers, body: null };
  let stream: Readable;
  try {
    stream = await services.storage.get(file.thumbnailKey);
  } catch (error) {
    if (error instanceof ObjectNotFoundError) throw new NotFoundError("That thumbnail");
    throw error;
  }
  return { status: 200, headers, body: stream };
}
