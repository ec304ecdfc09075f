/**
 * The static half of the expand/contract gate: the migrations added since the previous release
 * change nothing that release uses, and the ones it shipped are untouched.
 *
 * A destructive statement is allowed only in a contract migration, one whose first lines say
 *   -- coffer:contract <expand migration>: <why>
 * naming the expand migration that shipped in the previous release or earlier (the release that
 * stopped using what this one drops). The dynamic check then proves the previous release does not
 * read it any more.
 */
import fs from "node:fs";
import path from "node:path";
import { type DestructiveChange, emptyNewObjects, findDestructiveChanges } from "./destructive-sql";
import { fileAt, migrationsAt, type Release, requireCommit } from "./release-marker";

const CONTRACT = /^--\s*coffer:contract\s+([^\s:]+)/m;

export interface StaticReport {
  /** Migrations added since the previous release, in the order they apply. */
  added: string[];
  /** Destructive statements allowed by a contract marker. */
  contracted: { migration: string; expand: string; change: DestructiveChange }[];
  /** Everything that fails the gate, one sentence each. */
  problems: string[];
}

export async function checkMigrationsSince(repo: string, release: Release, migrationsDir: string): Promise<StaticReport> {
  requireCommit(repo, release);
  const shipped = migrationsAt(repo, release.commit);
  const current = fs
    .readdirSync(migrationsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && fs.existsSync(path.join(migrationsDir, entry.name, "migration.sql")))
    .map((entry) => entry.name)
    .sort();
  const report: StaticReport = { added: [], contracted: [], problems: [] };

  if (shipped[shipped.length - 1] !== release.lastMigration) {
    report.problems.push(
      `deploy/releases.json says release ${release.version} shipped up to ${release.lastMigration}, but its commit has ${shipped.at(-1)}`,
    );
  }
  for (const name of shipped) {
    const file = path.join(migrationsDir, name, "migration.sql");
    if (!fs.existsSync(file)) {
      report.problems.push(`${name} shipped in release ${release.version} and was removed: databases have it applied`);
    } else if (fs.readFileSync(file, "utf8") !== fileAt(repo, release.commit, `prisma/migrations/${name}/migration.sql`)) {
      report.problems.push(`${name} shipped in release ${release.version} and was changed: add a new migration instead`);
    }
  }

  const created = emptyNewObjects();
  const shippedSet = new Set(shipped);
  for (const name of current.filter((name) => !shippedSet.has(name))) {
    report.added.push(name);
    const sql = fs.readFileSync(path.join(migrationsDir, name, "migration.sql"), "utf8");
    let changes: DestructiveChange[];
    try {
      changes = await findDestructiveChanges(sql, created);
    } catch (error) {
      report.problems.push(`${name}: PostgreSQL's parser rejects it: ${(error as Error).message}`);
      continue;
    }
    if (changes.length === 0) continue;
    const expand = CONTRACT.exec(sql)?.[1];
    if (expand && shippedSet.has(expand)) {
      for (const change of changes) report.contracted.push({ migration: name, expand, change });
      continue;
    }
    const why = expand
      ? ` (its contract marker names ${expand}, which did not ship in release ${release.version} or earlier)`
      : " (an expand migration may only add; drop or change in a later release, with a contract marker)";
    for (const change of changes) report.problems.push(`${name}: ${change.reason}${why}\n    ${oneLine(change.statement)}`);
  }
  return report;
}

function oneLine(statement: string): string {
  const line = statement.replace(/\s+/g, " ");
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}
