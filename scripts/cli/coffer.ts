/**
 * The `coffer` command (bin/coffer.mjs): one subcommand per operator task. Each subcommand
 * parses its own flags strictly and resolves with the process exit code:
 *   0 done, nothing wrong; 1 done, problems remain; 2 usage error; 3 could not run.
 */
import { type Command, EXIT, UsageError } from "./command";
import { backup, list, restore, verify } from "./backup";
import { dedup } from "./dedup";
import { fsck } from "./fsck";
import { migrateStorageCommand } from "./migrate-storage";
import { prune } from "./prune";
import { searchReindexCommand } from "./search-reindex";

const COMMANDS: Record<string, Command> = {
  fsck,
  backup,
  restore,
  verify,
  list,
  prune,
  dedup,
  "migrate-storage": migrateStorageCommand,
  "search-reindex": searchReindexCommand,
};

function usage(): string {
  const width = Math.max(...Object.values(COMMANDS).map((c) => c.usage.length));
  return [
    "Usage: coffer <command> [options]",
    "",
    "Commands:",
    ...Object.values(COMMANDS).map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`),
    "",
    "Exit codes: 0 done and nothing wrong, 1 problems remain, 2 usage error, 3 could not run.",
  ].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    (name === undefined ? console.error : console.log)(usage());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    console.error(`coffer: unknown command ${JSON.stringify(name)}\n\n${usage()}`);
    return EXIT.usage;
  }
  if (args.includes("--help") || args.includes("-h")) {
    console.log(`Usage: coffer ${command.usage}\n\n${command.summary}`);
    return EXIT.ok;
  }
  try {
    return await command.run(args);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`coffer ${name}: ${error.message}\nUsage: coffer ${command.usage}`);
      return EXIT.usage;
    }
    console.error(`coffer ${name} failed: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT.failed;
  }
}
