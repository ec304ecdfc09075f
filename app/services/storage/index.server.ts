import type { Config } from "~/config.server";
import type { Logger } from "~/services/logger.server";
import type { PrismaClient } from "~/generated/prisma/client";
import { EncryptedObjectStore } from "./encrypted.server";
import { GuardedObjectStore } from "./guarded.server";
import { KeyRing } from "./key-ring.server";
import { LocalObjectStore } from "./local.server";
import { MeasuredObjectStore } from "./measured.server";
import { StorageBreaker } from "./storage-breaker.server";
import { type ColdTier, StorageClassTier } from "./storage-class-tier.server";
import { TieredObjectStore } from "./tiered.server";
import { TracedObjectStore } from "./traced.server";
import { tracingEnabled } from "~/services/tracing/state.server";
import type { ObjectStore } from "./types";
import type { S3ObjectStore } from "./s3.server";

/**
 * The object store the configuration asks for, behind the storage circuit breaker (a dead store
 * answers 503 at once; see docs/outages.md), each operation that reaches the driver measured
 * (coffer_storage_operation_*). Call `init()` before use. The S3 clients (minio,
 * @tus/s3-store with the AWS SDK) are imported only when S3 is configured.
 */
export async function createObjectStore(config: Config["storage"], log?: Logger): Promise<ObjectStore> {
  return wrapDriver(await createDriver(config, log), log);
}

function wrapDriver(driver: ObjectStore, log?: Logger): ObjectStore {
  const guarded = new GuardedObjectStore(new MeasuredObjectStore(driver), new StorageBreaker({ log }));
  // Outside the breaker: a fast refusal while the circuit is open shows in the trace too.
  return tracingEnabled() ? new TracedObjectStore(guarded) : guarded;
}

/** The stores beside the one every new object is written to. */
export interface StorageTiers {
  /** The configured store: new objects, uploads, and every object a migration or a restore moves. */
  primary: ObjectStore;
  /** STORAGE_MIGRATE_FROM under `primary`: its secondary is the store being emptied, still read and deleted from meanwhile. */
  migration?: TieredObjectStore;
  /**
   * COLD_STORAGE under the hot store (`primary`, or `migration`): a TieredObjectStore whose
   * secondary is the cold tier; or COLD_STORAGE_CLASS, a storage class of the S3 primary.
   */
  cold?: ColdTier;
}

/**
 * The store of the configuration with its tiers: reads fall through primary, then the store
 * being migrated from, then the cold tier; each store has its own breaker and measurements.
 * Encryption at rest goes above this (withEncryption), so tiers move ciphertext as it is.
 */
export async function createTieredObjectStore(
  config: Pick<Config, "storage" | "storageTiers">,
  log?: Logger,
): Promise<{ store: ObjectStore; tiers: StorageTiers }> {
  const coldClass = config.storageTiers.coldStorageClass;
  // The storage-class tier changes the class of the primary's objects through its driver.
  const driver = coldClass ? await createDriver(config.storage, log) : undefined;
  const primary = driver ? wrapDriver(driver, log) : await createObjectStore(config.storage, log);
  const migrateFrom = config.storageTiers.migrateFrom ? await createObjectStore(config.storageTiers.migrateFrom, log) : undefined;
  const migration = migrateFrom ? new TieredObjectStore(primary, migrateFrom) : undefined;
  const hot = migration ?? primary;
  if (coldClass && driver?.driver === "s3")
    return { store: hot, tiers: { primary, migration, cold: new StorageClassTier(hot, driver as S3ObjectStore, coldClass) } };
  if (!config.storageTiers.cold) return { store: hot, tiers: { primary, migration } };
  const cold = new TieredObjectStore(hot, await createObjectStore(config.storageTiers.cold, log));
  return { store: cold, tiers: { primary, migration, cold } };
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
