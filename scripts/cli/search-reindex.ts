/**
 * `coffer search-reindex [--batch-size N] [--restart] [--json]`: writes the document of every
 * live file and folder to the active search index again (docs/search.md, "Reindexing"), e.g. so
 * documents from before a release carry the fields its filters need. Safe while the server runs;
 * interrupted (Ctrl-C, a crash), it is run again and goes on where it stopped.
 */
import { parseArgs } from "node:util";
import { loadConfig } from "../../app/config.server";
import {
  DEFAULT_REINDEX_BATCH,
  MAX_REINDEX_BATCH,
  type ReindexProgress,
  reindexSearch,
} from "../../app/domain/search/search-reindex.server";
import { type Command, EXIT, UsageError, withInterruptibleServices } from "./command";

export const searchReindexCommand: Command = {
  summary: "Rewrite every file's and folder's search document from the database, in batches; resumable.",
  usage: "search-reindex [--batch-size N] [--restart] [--json]",
  async run(args) {
    const flags = parseFlags(args);
    const config = loadConfig();
    return withInterruptibleServices(config, async (services, signal) => {
      const result = await reindexSearch(services, {
        batchSize: flags.batchSize,
        restart: flags.restart,
        signal,
        // Progress goes to stderr, so stdout holds only the result.
        onProgress: (progress) => process.stderr.write(`${line(progress)}\n`),
      });
      if (flags.json) console.log(JSON.stringify({ driver: services.search.driver, ...result }, null, 2));
      else {
        const what = `${result.files} file(s) and ${result.folders} folder(s)`;
        console.log(
          result.stopped
            ? `Stopped after ${what}; run coffer search-reindex again to go on from there.`
            : `Reindexed ${what} in the ${services.search.driver} search index${result.resumed ? " (resumed)" : ""}.`,
        );
      }
      return result.stopped ? EXIT.problems : EXIT.ok;
    });
  },
};

function line({ phase, done, total }: ReindexProgress): string {
  const percent = total === 0 ? 100 : Math.min(100, Math.floor((done / total) * 100));
  return `${phase}: ${done} of ${total} (${percent} %)`;
}

function parseFlags(args: string[]): { batchSize: number; restart: boolean; json: boolean } {
  let values: { "batch-size"?: string; restart?: boolean; json?: boolean };
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: { "batch-size": { type: "string" }, restart: { type: "boolean" }, json: { type: "boolean" } },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const raw = values["batch-size"] ?? String(DEFAULT_REINDEX_BATCH);
  const batchSize = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > MAX_REINDEX_BATCH) {
    throw new UsageError(`--batch-size must be a whole number from 1 to ${MAX_REINDEX_BATCH}`);
  }
  return { batchSize, restart: values.restart ?? false, json: values.json ?? false };
}
