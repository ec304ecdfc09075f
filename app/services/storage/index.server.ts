import type { Config } from "~/config.server";
import type { Logger } from "~/services/logger.server";
import type { PrismaClient } from "~/generated/prisma/client";
import { EncryptedObjectStore } from "./encrypted.server";
import { GuardedObjectStore } from "./guarded.server";
import { KeyRing } from "./key-ring.server";
import { LocalObjectStore } from "./local.server";
import { MeasuredObjectStore } from "./measured.server";
import { StorageBreaker } from "./storage-breaker.server";
import { TracedObjectStore } from "./traced.server";
import { tracingEnabled } from "~/services/tracing/state.server";
import type { ObjectStore } from "./types";

/**
 * The object store the configuration asks for, behind the storage circuit breaker (a dead store
 * answers 503 at once; see docs/outages.md), each operation that reaches the driver measured
 * (coffer_storage_operation_*). Call `init()` before use. The S3 clients (minio,
 * @tus/s3-store with the AWS SDK) are imported only when S3 is configured.
 */
export async function createObjectStore(config: Config["storage"], log?: Logger): Promise<ObjectStore> {
  const guarded = new GuardedObjectStore(new MeasuredObjectStore(await createDriver(config, log)), new StorageBreaker({ log }));
  // Outside the breaker: a fast refusal while the circuit is open shows in the trace too.
  return tracingEnabled() ? new TracedObjectStore(guarded) : guarded;
}

async function createDriver(config: Config["storage"], log?: Logger): Promise<ObjectStore> {
  switch (config.driver) {
    case "local":
      return new LocalObjectStore(config.directory);
    case "s3": {
      const { S3ObjectStore } = await import("./s3.server");
      return new S3ObjectStore(config, {}, log);
    }
  }
}

/** `store` itself, or wrapped in encryption at rest when the configuration has a master key. */
export function withEncryption(
  store: ObjectStore,
  encryption: Config["encryption"],
  prisma: Pick<PrismaClient, "encryptionKey">,
): ObjectStore {
  return encryption ? new EncryptedObjectStore(store, new KeyRing(prisma, encryption.masterKeys)) : store;
}
