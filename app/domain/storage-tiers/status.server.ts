import type { Services } from "~/services/index.server";
import { coldTierCounts } from "./cold-tier.server";
import { type MigrationProgress, migrationProgress } from "./migration.server";

/** What /admin/jobs shows of the storage tiers; null parts are not configured. */
export interface StorageTiersStatus {
  cold: { files: number; versions: number } | null;
  migration: (MigrationProgress & { started: boolean }) | null;
}

export async function storageTiersStatus(services: Services): Promise<StorageTiersStatus> {
  const { cold, migration } = services.storageTiers ?? {};
  const progress = migration ? await migrationProgress(services) : null;
  return {
    cold: cold ? await coldTierCounts(services) : null,
    migration: migration
      ? progress
        ? { ...progress, started: true }
        : {
            from: "",
            to: "",
            startedAt: "",
            updatedAt: "",
            finishedAt: null,
            movedObjects: 0,
            movedBytes: 0,
            failedObjects: 0,
            remainingObjects: 0,
            remainingBytes: 0,
            started: false,
          }
      : null,
  };
}
