import { randomBytes } from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { FileStore } from "@tus/file-store";
import { ERRORS, type DataStore, type KvStore, type Upload } from "@tus/utils";
import { ByteCounter } from "./byte-counter.server";
import { isStorageOutage } from "./outage.server";
import {
  assertValidKey,
  assertValidRange,
  DeleteFailedError,
  InvalidRangeError,
  ObjectNotFoundError,
  StorageUnavailableError,
  type ByteRange,
  type ObjectInfo,
  type ObjectStore,
  type TusDataStoreOptions,
} from "./types";

// Inside the root so that the final rename stays on one filesystem and is atomic. Keys never
// start with ".", so this directory can never collide with an object.
const TEMP_DIR = ".tmp";
// A temp file untouched this long belongs to a put that died with its process.
const STALE_TEMP_MS = 60 * 60 * 1000;
const DELETE_CONCURRENCY = 16;

/**
 * Objects are plain files named by their key in one directory. The tus data store writes
 * uploads into the same directory, so a finished upload is the object keyed by its id.
 */
export class LocalObjectStore implements ObjectStore {
  readonly driver = "local";
  readonly directory: string;
  private readonly tempDirectory: string;

  constructor(directory: string) {
    this.directory = path.resolve(directory);
    this.tempDirectory = path.join(this.directory, TEMP_DIR);
  }

  async init(): Promise<void> {
    await fsp.mkdir(this.tempDirectory, { recursive: true });
    await this.removeStaleTempFiles();
  }

  async put(key: string, body: Readable, options: { size?: number } = {}): Promise<{ size: number }> {
    const target = this.pathOf(key);
    const temp = this.tempPathFor(key);
    const counter = new ByteCounter(key, options.size);
    try {
      // flush: the bytes are on disk before the rename makes them visible.
      await pipeline(body, counter, fs.createWriteStream(temp, { flags: "wx", flush: true }));
      await fsp.rename(temp, target);
    } catch (error) {
      await fsp.rm(temp, { force: true });
      throw error;
    }
    return { size: counter.bytes };
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const file = this.pathOf(key);
    if (range) assertValidRange(key, range);
    let handle: fsp.FileHandle;
    try {
      handle = await fsp.open(file, "r");
    } catch (error) {
      if (isMissing(error)) throw (await directoryGone(this.directory)) ?? new ObjectNotFoundError(key);
      throw error;
    }
    try {
      // The open handle pins this version of the object even if a put renames a new one over it.
      const stats = await handle.stat();
      if (!stats.isFile()) throw new ObjectNotFoundError(key);
      if (range && range.start >= stats.size) throw new InvalidRangeError(key, range);
      return handle.createReadStream({ start: range?.start, end: range?.end });
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async stat(key: string): Promise<ObjectInfo | null> {
    try {
      const stats = await fsp.stat(this.pathOf(key));
      return stats.isFile() ? { key, size: stats.size, modifiedAt: stats.mtime } : null;
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await fsp.unlink(this.pathOf(key));
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
  }

  async deleteMany(keys: string[]): Promise<void> {
    keys.forEach(assertValidKey);
    const failures: Array<{ key: string; message: string }> = [];
    for (let i = 0; i < keys.length; i += DELETE_CONCURRENCY) {
      const batch = keys.slice(i, i + DELETE_CONCURRENCY);
      const results = await Promise.allSettled(batch.map((key) => this.delete(key)));
      results.forEach((result, j) => {
        if (result.status === "rejected") failures.push({ key: batch[j]!, message: String(result.reason?.message ?? result.reason) });
      });
    }
    if (failures.length > 0) throw new DeleteFailedError(failures);
  }

  async copy(fromKey: string, toKey: string): Promise<void> {
    const source = this.pathOf(fromKey);
    const target = this.pathOf(toKey);
    const temp = this.tempPathFor(toKey);
    try {
      // A reflink where the filesystem supports it (btrfs, XFS): instant and no extra space.
      await fsp.copyFile(source, temp, fs.constants.COPYFILE_FICLONE | fs.constants.COPYFILE_EXCL);
      await fsp.rename(temp, target);
    } catch (error) {
      await fsp.rm(temp, { force: true });
      // ENOENT may also mean a missing temp directory (uninitialised or unmounted store).
      if (isMissing(error) && !(await exists(source))) throw new ObjectNotFoundError(fromKey);
      throw error;
    }
  }

  async *list(prefix = ""): AsyncIterable<ObjectInfo> {
    const directory = await fsp.opendir(this.directory);
    for await (const entry of directory) {
      if (!entry.isFile() || entry.name.startsWith(".") || !entry.name.startsWith(prefix)) continue;
      const info = await this.stat(entry.name).catch(() => null);
      if (info) yield info;
    }
  }

  async health(): Promise<void> {
    // Writes where puts write, so a full disk, a read-only or an unmounted volume all show.
    const probe = path.join(this.tempDirectory, `health-${randomBytes(6).toString("hex")}`);
    try {
      await fsp.writeFile(probe, "ok", { flag: "wx" });
      await fsp.rm(probe, { force: true });
    } catch (error) {
      throw new StorageUnavailableError(`Storage directory ${this.directory} is not writable: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  createTusDataStore(options: TusDataStoreOptions): DataStore {
    return new LocalTusStore({
      directory: this.directory,
      expirationPeriodInMilliseconds: options.expirationPeriodInMilliseconds,
      // The local driver's records are plain Uploads (see TusDataStoreOptions.kvStore).
      configstore: options.kvStore as KvStore<Upload> | undefined,
    });
  }

  private pathOf(key: string): string {
    assertValidKey(key);
    return path.join(this.directory, key);
  }

  private tempPathFor(key: string): string {
    return path.join(this.tempDirectory, `${key}.${randomBytes(6).toString("hex")}`);
  }

  private async removeStaleTempFiles(): Promise<void> {
    const cutoff = Date.now() - STALE_TEMP_MS;
    for (const name of await fsp.readdir(this.tempDirectory)) {
      const file = path.join(this.tempDirectory, name);
      const stats = await fsp.stat(file).catch(() => null);
      if (stats && stats.mtimeMs < cutoff) await fsp.rm(file, { force: true });
    }
  }
}

/**
 * FileStore with its write replaced:
 * - the bytes are written in batches of up to 256 KiB (one `writev` each, no copying). The
 *   request delivers them in socket-sized pieces, down to a few KiB when the server keeps up;
 *   FileStore's write stream made one write call per piece;
 * - at the end of an upload the file is flushed to disk before it counts as finished (as `put` does), so a
 *   crash right after cannot leave a recorded file with missing bytes;
 * - the record is marked finished. FileStore never updates the record's offset after creating
 *   it, and its deleteExpired() removes every expired upload whose recorded offset differs from
 *   its size: finished ones too, i.e. the stored object.
 */
class LocalTusStore extends FileStore {
  /**
   * The records of uploads this process created whose bytes have not started arriving: their
   * first write (the creation request itself, with creation-with-upload) need not read back the
   * record it has just written. Only uploads of a known size, whose size cannot change.
   */
  private readonly justCreated = new Map<string, Upload>();

  /**
   * As FileStore's create, without its mkdir of the directory per upload: keys are flat (no
   * slashes), so that is the store's own directory, which exists (or the store is down).
   */
  override async create(upload: Upload): Promise<Upload> {
    assertValidKey(upload.id);
    const record = { ...upload } as Upload;
    const file = path.join(this.directory, upload.id);
    try {
      await fsp.writeFile(file, "");
      await this.configstore.set(upload.id, upload);
    } catch (error) {
      throw (await directoryGone(this.directory)) ?? error;
    }
    upload.storage = { type: "file", path: file };
    if (upload.size !== undefined) this.rememberCreated(upload.id, record);
    return upload;
  }

  private rememberCreated(id: string, record: Upload) {
    // Creations never written to (their client went away) must not pile up.
    if (this.justCreated.size >= JUST_CREATED_LIMIT) this.justCreated.delete(this.justCreated.keys().next().value!);
    this.justCreated.set(id, record);
  }

  override async declareUploadLength(id: string, uploadLength: number): Promise<void> {
    this.justCreated.delete(id);
    return super.declareUploadLength(id, uploadLength);
  }

  override async remove(id: string): Promise<void> {
    this.justCreated.delete(id);
    return super.remove(id);
  }

  /** FileStore cannot tell a missing upload from a missing (unmounted, replaced) directory. */
  override async getUpload(id: string): Promise<Upload> {
    try {
      return await super.getUpload(id);
    } catch (error) {
      throw (await directoryGone(this.directory)) ?? error;
    }
  }

  override async write(readable: Readable, id: string, offset: number): Promise<number> {
    assertValidKey(id);
    const file = path.join(this.directory, id);
    const known = this.justCreated.get(id);
    this.justCreated.delete(id);
    let handle: fsp.FileHandle;
    try {
      handle = await fsp.open(file, "r+");
    } catch (error) {
      // A broken disk is a 503 the client retries; anything else is this upload's own failure.
      if (isStorageOutage(error)) throw error;
      throw (await directoryGone(this.directory)) ?? ERRORS.FILE_WRITE_ERROR;
    }
    let position = offset;
    let batch: Buffer[] = [];
    let batchBytes = 0;
    const flush = async () => {
      if (batchBytes === 0) return;
      const { bytesWritten } = await handle.writev(batch, position);
      position += bytesWritten;
      if (bytesWritten !== batchBytes) throw new Error(`short write: ${bytesWritten} of ${batchBytes} bytes`);
      batch = [];
      batchBytes = 0;
    };
    let record: Upload | undefined;
    try {
      for await (const chunk of readable) {
        batch.push(chunk as Buffer);
        batchBytes += (chunk as Buffer).length;
        if (batchBytes >= WRITE_BATCH_BYTES || batch.length >= WRITE_BATCH_PIECES) await flush();
      }
      await flush();
      record = known ?? (await this.configstore.get(id));
      // On disk before the upload counts as finished, through the handle that wrote it.
      if (record && record.size === position) await handle.datasync();
    } catch (error) {
      // Whatever arrived before the failure is kept; the client resumes from the file's size.
      await flush().catch(() => {});
      throw isStorageOutage(error) ? error : ERRORS.FILE_WRITE_ERROR;
    } finally {
      await handle.close();
    }
    if (record && record.size === position && record.offset !== position) {
      await this.configstore.set(id, { ...record, offset: position } as Upload);
    }
    return position;
  }
}

const WRITE_BATCH_BYTES = 256 * 1024;
/** How many created, not yet written uploads LocalTusStore keeps the record of. */
const JUST_CREATED_LIMIT = 1_000;
// Well under IOV_MAX (1024), so one writev is one system call.
const WRITE_BATCH_PIECES = 512;

/** An outage error when the store's directory is missing or no longer a directory; null when it is fine. */
async function directoryGone(directory: string): Promise<StorageUnavailableError | null> {
  const stats = await fsp.stat(directory).catch(() => null);
  if (stats?.isDirectory()) return null;
  return new StorageUnavailableError(`Storage directory ${directory} is ${stats ? "not a directory" : "missing"}`);
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException)?.code === "ENOENT";
}

async function exists(file: string): Promise<boolean> {
  return fsp.access(file).then(
    () => true,
    () => false,
  );
}
