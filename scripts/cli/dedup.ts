/**
 * `coffer dedup`: stores contents kept twice before deduplication (or while STORAGE_DEDUP was
 * off) once (docs/storage.md, "Deduplication"). Safe while the server runs; run it again at any
 * time, it only looks at files not yet deduplicated.
 */
import { parseArgs } from "node:util";
import { loadConfig } from "../../app/config.server";
import { deduplicateStoredFiles } from "../../app/domain/files/shared-objects.server";
import { closeServices, createServices } from "../../app/services/index.server";
import { createLogger } from "../../app/services/logger.server";
import { type Command, EXIT, UsageError } from "./command";

export const dedup: Command = {
  summary: "Store files with the same contents (SHA-256) once: for files stored before deduplication.",
  usage: "dedup",
  async run(args) {
    try {
      parseArgs({ args, strict: true, allowPositionals: false, options: {} });
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const config = loadConfig();
    if (!config.storageDedup) throw new UsageError("deduplication is off (STORAGE_DEDUP=false)");
    const log = createLogger(config.logLevel, (line) => process.stderr.write(`${line}\n`));
    const services = await createServices(config, log);
    try {
      const { examined, linked } = await deduplicateStoredFiles(services);
      const left = examined - linked;
      console.log(`Examined ${examined} file(s) with contents stored more than once; ${linked} now share one object.`);
      // Their earlier copy is missing (see coffer fsck), or plaintext while encryption at rest is on.
      if (left > 0) console.log(`${left} kept their own object.`);
      return EXIT.ok;
    } finally {
      await closeServices(services);
    }
  },
};
