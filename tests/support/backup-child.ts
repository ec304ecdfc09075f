// A backup run in a process of its own that stops midway, to be killed with SIGKILL:
// `node --import tsx tests/support/backup-child.ts` with the app's environment. It runs the real
// runBackup against the configured target, and once `PAUSE_AFTER_DUMPS` table dumps are written
// (the objects the database referenced before are copied by then) prints "paused" and waits forever.
import { loadConfig } from "../../app/config.server";
import { runBackup } from "../../app/domain/backup/backup.server";
import { createBackupTarget } from "../../app/services/backup/target.server";
import { createServices } from "../../app/services/index.server";
import { createLogger } from "../../app/services/logger.server";
import type { ObjectStore } from "../../app/services/storage/types";

const config = loadConfig();
const services = await createServices(config, createLogger("error"));
const inner = await createBackupTarget(config.backup!.target);
const pauseAfter = Number(process.env.PAUSE_AFTER_DUMPS ?? "1");
let copied = 0;
const target: ObjectStore = Object.assign(Object.create(inner) as ObjectStore, {
  async put(key: string, ...rest: Parameters<ObjectStore["put"]> extends [string, ...infer R] ? R : never) {
    const result = await inner.put(key, ...rest);
    if (key.startsWith("backup-") && key.includes("-db-") && ++copied >= pauseAfter) {
      process.stdout.write("paused\n");
      await new Promise(() => {});
    }
    return result;
  },
});
await runBackup(services, { target });
process.stdout.write("finished\n");
