import { createHash } from "node:crypto";
import { PassThrough, Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import mime from "mime-types";
import type { Services } from "~/services/index.server";
import type { File as FileRecord, Prisma } from "~/generated/prisma/client";
import { formatBytes } from "~/lib/format";
import { assertCanRead } from "../sharing/access.server";
import { NotFoundError, PayloadTooLargeError } from "../errors";
import { cleanName, nameKey, numberedName } from "./names";
import { STORAGE_LOCK_TX } from "./quota.server";
import type { SessionUser } from "../accounts/sessions.server";
import { scheduleContentIndexing } from "../search/content-index.server";
import { extractionKind } from "../search/content-extraction.server";
import { scheduleThumbnails } from "./thumbnails.server";
import { fileSearchDocument } from "../search/search-documents.server";
import { deleteUnreferencedObjects } from "./shared-objects.server";
import {
  assertUploadsScannable,
  beginScan,
  recordObjectVerdict,
  type ScanOutcome,
  settleScan,
  type StreamScan,
} from "./malware-scans.server";

type Actor = Pick<SessionUser, "id" | "role">;

const MAX_NUMBERED_ATTEMPTS = 1000;

/** A safe, informative Content-Type: the declared one when well-formed, else by extension. */
export function detectMimeType(name: string, declared?: string | null): string {
  const clean = declared?.trim().toLowerCase();
  if (clean && /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/.test(clean) && clean !== "application/octet-stream") {
    return clean;
  }
  return mime.lookup(name) || "application/octet-stream";
}

export interface NewFile {
  ownerId: string;
  folderId: string;
  name: string;
  size: number;
  mimeType: string;
  storageKey: string;
  sha256: string | null;
}

export interface RecordOptions {
  /**
   * Runs first in the transaction that writes the file's row (again for each name tried), e.g.
   * to claim room in the owner's storage under lock; what it writes is rolled back with the row.
   */
  beforeWrite?: (tx: Prisma.TransactionClient) => Promise<void>;
  /** Runs last in that transaction with the file written, e.g. to record its activity with it. */
  afterWrite?: (tx: Prisma.TransactionClient, file: FileRecord) => Promise<void>;
}

/**
 * Records a stored object as a file in its folder. A name already taken keeps both:
 * the new file becomes "name (1).ext", "name (2).ext", …
 */
export async function addFile(services: Services, input: NewFile, { beforeWrite, afterWrite }: RecordOptions = {}): Promise<FileRecord> {
  const base = cleanName(input.name, "File name");
  for (let attempt = 0; attempt < MAX_NUMBERED_ATTEMPTS; attempt++) {
    const name = attempt === 0 ? base : numberedName(base, attempt);
    const key = nameKey(name);
    let file: FileRecord | null;
    try {
      file = await services.prisma.$transaction(async (tx) => {
        await beforeWrite?.(tx);
        const folderClash = await tx.folder.findFirst({
          where: { parentId: input.folderId, nameKey: key, trashedAt: null },
          select: { id: true },
        });
        if (folderClash) return null;
        const contentIndexedKey = withoutText(services, name, input) ? input.storageKey : null;
        // Field by field: a caller's object may carry more than a file's columns (a scan verdict).
        const { ownerId, folderId, mimeType, storageKey, sha256 } = input;
        const created = await tx.file.create({
          data: { ownerId, folderId, mimeType, storageKey, sha256, name, nameKey: key, size: BigInt(input.size), contentIndexedKey },
        });
        await afterWrite?.(tx, created);
        return created;
      }, STORAGE_LOCK_TX);
    } catch (error) {
      if ((error as { code?: string }).code === "P2002") continue;
      throw error;
    }
    if (!file) continue;
    await services.search.upsert([fileSearchDocument(file)]);
    services.notifier.toUser(file.ownerId, {
      type: "file:created",
      file: { id: file.id, name: file.name, folderId: file.folderId, size: input.size },
    });
    scheduleThumbnails(services, [file]);
    if (file.contentIndexedKey !== file.storageKey) scheduleContentIndexing(services, [file]);
    return file;
  }
  throw new Error(`Could not find a free name for ${base}`);
}

/**
 * A new file of a type no text is extracted from (images, archives, most uploads) is recorded as
 * indexed already: what its content-indexing job would conclude, without a durable job (several
 * queries) per uploaded file.
 */
function withoutText(services: Services, name: string, input: NewFile): boolean {
  return services.config.contentSearch.enabled && extractionKind(name, input.mimeType) === null;
}

export async function getReadableFile(services: Services, actor: Actor, fileId: string): Promise<FileRecord> {
  const file = await services.prisma.file.findUnique({ where: { id: fileId } });
  if (!file || file.trashedAt) throw new NotFoundError("That file");
  const target = { kind: "file", id: file.id, ownerId: file.ownerId, folderId: file.folderId } as const;
  await assertCanRead(services, actor, target, "That file");
  return file;
}

/**
 * A request body that limits its own length and shows each piece it passes on (the server's
 * UploadBody), so it can go to the store as it is: no Transform in between to count and hash.
 */
export interface ObservableBody extends Readable {
  observe(observer: (chunk: Buffer) => void): void;
}

function isObservable(body: Readable): body is ObservableBody {
  return typeof (body as { observe?: unknown }).observe === "function";
}

/**
 * Streams `body` into the object store under a new key while counting bytes and computing
 * SHA-256 in the same pass. Over `maxSize` the partial object is removed and 413 raised (an
 * ObservableBody enforces the limit itself, with its own error). `size`, when the client declared
 * it, lets the store size its parts exactly; a body of another length fails.
 */
export async function storeStream(
  services: Services,
  storageKey: string,
  body: Readable,
  maxSize: number,
  tooLarge: () => Error = () => new PayloadTooLargeError(`This file is larger than the ${formatBytes(maxSize)} limit. Nothing was saved.`),
  options: { size?: number } = {},
): Promise<{ size: number; sha256: string; scan: ScanOutcome | null }> {
  const hash = createHash("sha256");
  const scan = beginScan(services);
  let size = 0;
  if (isObservable(body)) {
    // Observed before any await: the body flows from the start, and a piece passed on unseen
    // would be missing from the size, the hash and the scan.
    body.observe((chunk) => {
      size += chunk.length;
      hash.update(chunk);
      scan?.feed(chunk);
    });
    try {
      // With clamd down and CLAMD_UNAVAILABLE=refuse, nothing is stored (503).
      await assertUploadsScannable(services);
    } catch (error) {
      scan?.abort();
      body.destroy();
      throw error;
    }
    try {
      await services.storage.put(storageKey, body, { size: options.size });
      if (size > maxSize) throw tooLarge();
    } catch (error) {
      scan?.abort();
      body.destroy();
      await deleteUnreferencedObjects(services, [storageKey]);
      throw error;
    }
    return { size, sha256: hash.digest("hex"), scan: await scanned(services, storageKey, scan) };
  }
  try {
    await assertUploadsScannable(services);
  } catch (error) {
    scan?.abort();
    throw error;
  }
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      if (size > maxSize) {
        callback(tooLarge());
        return;
      }
      hash.update(chunk);
      scan?.feed(chunk);
      callback(null, chunk);
    },
  });
  const sink = new PassThrough();
  const piping = pipeline(body, meter, sink);
  try {
    await Promise.all([services.storage.put(storageKey, sink, { size: options.size }), piping]);
  } catch (error) {
    scan?.abort();
    sink.destroy();
    await deleteUnreferencedObjects(services, [storageKey]);
    throw error;
  }
  return { size, sha256: hash.digest("hex"), scan: await scanned(services, storageKey, scan) };
}

/**
 * clamd's verdict on bytes just stored, recorded on their object ("pending" without one: the
 * rescan job scans them from storage). The caller tells the owner once the file exists
 * (afterScannedUpload); the object is refused to downloads from now on either way.
 */
async function scanned(services: Services, storageKey: string, scan: StreamScan | null): Promise<ScanOutcome | null> {
  if (!scan) return null;
  const outcome = await settleScan(services, scan);
  await recordObjectVerdict(services, storageKey, outcome);
  return outcome;
}
