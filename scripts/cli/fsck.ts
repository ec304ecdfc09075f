/**
 * `coffer fsck [--repair] [--hash] [--json]`: checks the object store against the database
 * (docs/storage.md, "Storage check"). Without --repair it changes nothing. With --repair,
 * orphans go into quarantine (deleted after the grace period by a later run) and expired
 * pending uploads are removed; what cannot be repaired is reported.
 */
import { parseArgs } from "node:util";
import { loadConfig } from "../../app/config.server";
import type { AuditActor } from "../../app/domain/audit/audit.server";
import {
  checkStorage,
  PROBLEM_KINDS,
  type StorageCheckReport,
  type StorageProblem,
} from "../../app/domain/storage-check/storage-check.server";
import { createUploadServer, createUploadTerminator } from "../../app/server/tus-host.server";
import { closeServices, createServices } from "../../app/services/index.server";
import { createLogger } from "../../app/services/logger.server";
import { type Command, EXIT, UsageError } from "./command";

/** The command is run by whoever operates the server, not by a Coffer account. */
const OPERATOR: AuditActor = { actorId: null, actorLabel: "operator (coffer fsck)", ip: null, userAgent: null };

export const fsck: Command = {
  summary: "Check stored objects against the database (--repair: quarantine orphans, remove expired uploads).",
  usage: "fsck [--repair] [--hash] [--json]",
  async run(args) {
    const flags = parseFlags(args);
    const config = loadConfig();
    // Logs go to stderr: stdout holds the report (JSON with --json).
    const log = createLogger(config.logLevel, (line) => process.stderr.write(`${line}\n`));
    const services = await createServices(config, log, { attachToRunning: true });
    try {
      const uploads = flags.repair ? createUploadTerminator(services, createUploadServer(services)) : undefined;
      const report = await checkStorage(services, {
        hash: flags.hash,
        repairOrphans: flags.repair,
        uploads,
        actor: OPERATOR,
        onProblem: flags.json ? undefined : (problem) => console.log(describe(problem)),
      });
      console.log(flags.json ? JSON.stringify(report, null, 2) : summary(report, flags.repair));
      return PROBLEM_KINDS.some((kind) => report.problems[kind] > 0) ? EXIT.problems : EXIT.ok;
    } finally {
      await closeServices(services);
    }
  },
};

function parseFlags(args: string[]): { repair: boolean; hash: boolean; json: boolean } {
  try {
    const { values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: { repair: { type: "boolean" }, hash: { type: "boolean" }, json: { type: "boolean" } },
    });
    return { repair: values.repair === true, hash: values.hash === true, json: values.json === true };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function describe(problem: StorageProblem): string {
  return `${problem.kind.padEnd(14)} ${problem.key}: ${problem.detail}`;
}

function summary(report: StorageCheckReport, repair: boolean): string {
  const remaining = PROBLEM_KINDS.filter((kind) => report.problems[kind] > 0);
  const lines = [
    `Checked ${report.objects} object(s) and ${report.rows} database row(s).`,
    remaining.length === 0 ? "No problems found." : `Problems: ${remaining.map((kind) => `${report.problems[kind]} ${kind}`).join(", ")}.`,
  ];
  if (repair) {
    const { quarantined, purged, uploadsRemoved } = report.repaired;
    lines.push(
      `Repaired: ${quarantined} orphan(s) quarantined, ${purged} quarantined object(s) deleted, ${uploadsRemoved} expired upload(s) removed.`,
    );
  } else if (report.problems.orphan + report.problems.expired_upload > 0) {
    lines.push("Run with --repair to quarantine the orphans and remove the expired uploads.");
  }
  if (report.inQuarantine > 0) lines.push(`${report.inQuarantine} object(s) in quarantine, deleted 7 days after they were quarantined.`);
  if (report.problems.missing + report.problems.size_mismatch + report.problems.hash_mismatch > 0)
    lines.push("Missing objects and mismatches are not repaired: restore them from a backup (docs/storage.md, Storage check).");
  return lines.join("\n");
}
