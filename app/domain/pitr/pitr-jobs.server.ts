import type { Services } from "~/services/index.server";
import { createBackupTarget } from "~/services/backup/target.server";
import { walStagingDir } from "~/services/backup/wal-archive.server";
import { metrics } from "~/services/metrics.server";
import type { ObjectStore } from "~/services/storage/types";
import { shipNewObjects } from "../backup/backup.server";
import { listTargetObjects } from "../backup/objects.server";
import { walArchiving } from "./physical.server";
import { refreshWalGauges, shipWal } from "./wal-shipper.server";

// One target per Services (and per process: copies of this module can coexist in one process).
const targets: WeakMap<Services, Promise<ObjectStore>> = ((globalThis as Record<symbol, unknown>)[Symbol.for("coffer.pitrTargets")] ??=
  new WeakMap()) as WeakMap<Services, Promise<ObjectStore>>;

/** The backup target, opened once per instance; undefined without one. */
export function backupTargetOf(services: Services): Promise<ObjectStore> | undefined {
  const config = services.config.backup;
  if (!config) return undefined;
  let target = targets.get(services);
  if (!target) {
    target = createBackupTarget(config.target, services.log).then(async (store) => {
      await store.init();
      return store;
    });
    target.catch(() => targets.delete(services));
    targets.set(services, target);
  }
  return target;
}

/**
 * The point-in-time recovery jobs, every minute: a one-minute cron is pg-boss's finest, and with
 * archive_timeout at 60 s it bounds the data a lost disk can cost to about two minutes. A durable
 * job rather than a timer: it shows in /admin/jobs, failures are retried and counted, and runs
 * never overlap.
 */
export function pitrJobs(
  services: Services,
): Array<{ name: string; cron: string; expireInSeconds: number; run(): Promise<Record<string, number>> }> {
  const backup = services.config.backup;
  if (!backup || !walArchiving(services.config)) return [];
  const stagingDir = walStagingDir(services.config.dataDir);
  return [
    {
      name: "ship-wal",
      cron: "* * * * *",
      expireInSeconds: 30 * 60,
      run: async () => {
        const target = await backupTargetOf(services)!;
        return shipWal({ stagingDir, target, key: backup.key, systemId: await systemIdOf(services) });
      },
    },
    {
      // Between backups too: a restore to a moment after the last backup needs the files written since.
      name: "ship-objects",
      cron: "* * * * *",
      expireInSeconds: 6 * 60 * 60,
      run: async () => {
        const target = await backupTargetOf(services)!;
        const { copied, missing } = await shipNewObjects(services, { target });
        return { copied, missing: missing.length };
      },
    },
  ];
}

/**
 * The storage keys whose objects the backup target holds, for delete-deferred-objects: with WAL
 * archiving on, an object is deleted only once shipped. Undefined without a backup target.
 */
export function shippedObjectKeys(services: Services): (() => Promise<ReadonlySet<string>>) | undefined {
  const target = backupTargetOf(services);
  if (!target) return undefined;
  return async () => new Set((await listTargetObjects(await target)).keys());
}

/** The embedded cluster's system identifier, which names its WAL in the target. */
async function systemIdOf(services: Services): Promise<string> {
  const [row] = await services.prisma.$queryRaw<Array<{ id: string }>>`SELECT system_identifier::text AS id FROM pg_control_system()`;
  return row!.id;
}

/**
 * The WAL gauges at a scrape, when this instance archives WAL: what waits in staging, and whether
 * PostgreSQL's archiver is failing (then nothing reaches staging at all, and WAL piles up in pg_wal).
 */
export async function refreshPitrGauges(services: Services): Promise<void> {
  if (!walArchiving(services.config)) return;
  refreshWalGauges(walStagingDir(services.config.dataDir));
  const [row] = await services.prisma.$queryRaw<Array<{ failing: boolean }>>`
    SELECT coalesce(last_failed_time > coalesce(last_archived_time, '-infinity'), false) AS failing FROM pg_stat_archiver`;
  metrics().walArchiverFailing.set(row?.failing ? 1 : 0);
}
