// The expand/contract gate (docs/rollback.md): the migrations added since the previous release
// (deploy/releases.json) keep that release working. Statically, PostgreSQL's parser finds no
// destructive statement outside a contract migration; dynamically, the previous release's Prisma
// client, generated from its schema.prisma in git, creates and reads a row of every model on a
// database migrated to HEAD. Both are shown failing on planted violations. About 15 s.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIGRATIONS_DIR, runMigrations } from "~/services/migrate.server";
import { generatePreviousClient, type ProbeResult, probeEveryModel } from "../../scripts/migration-gate/previous-client";
import { migrationsAt, readPreviousRelease, requireCommit } from "../../scripts/migration-gate/release-marker";
import { checkMigrationsSince } from "../../scripts/migration-gate/static-check";
import { createTestDatabase } from "../support/database";

const REPO = path.resolve(import.meta.dirname, "../..");
const release = readPreviousRelease(REPO);
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-migration-gate-"));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** HEAD's migrations plus `planted` (name → SQL), in a directory of their own. */
function migrationsWith(planted: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(scratch, "migrations-"));
  fs.cpSync(MIGRATIONS_DIR, dir, { recursive: true });
  for (const [name, sql] of Object.entries(planted)) {
    fs.mkdirSync(path.join(dir, name));
    fs.writeFileSync(path.join(dir, name, "migration.sql"), sql);
  }
  return dir;
}

const DROP_COLUMN = `ALTER TABLE "users" DROP COLUMN "name";`;
const NOT_NULL_WITHOUT_DEFAULT = `-- Looks additive, but the previous release inserts folders without it.\nALTER TABLE "folders" ADD COLUMN "color" TEXT NOT NULL;`;

describe("expand/contract, statically", () => {
  it("finds the migrations since the previous release expand-only", async () => {
    const report = await checkMigrationsSince(REPO, release, MIGRATIONS_DIR);
    expect(report.problems).toEqual([]);
    console.log(`since ${release.version}: ${report.added.length === 0 ? "no new migrations" : report.added.join(", ")}`);
  });

  it("refuses a DROP COLUMN and a NOT NULL column without a default, naming the statement", async () => {
    const dir = migrationsWith({ "20991231000000_planted_drop": DROP_COLUMN, "20991231000100_planted_not_null": NOT_NULL_WITHOUT_DEFAULT });
    const { added, problems } = await checkMigrationsSince(REPO, release, dir);
    expect(added).toEqual(expect.arrayContaining(["20991231000000_planted_drop", "20991231000100_planted_not_null"]));
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^20991231000000_planted_drop: DROP COLUMN name: the previous release reads and writes it/);
    expect(problems[0]).toContain(DROP_COLUMN.replace(";", ""));
    expect(problems[1]).toMatch(/^20991231000100_planted_not_null: ADD COLUMN color NOT NULL without a DEFAULT/);
  });

  it("refuses the other destructive changes, and allows them on tables created since the release", async () => {
    const dir = migrationsWith({
      "20991231000000_planted": [
        `ALTER TABLE users RENAME COLUMN email TO mail;`,
        `ALTER TABLE "files" ALTER COLUMN "size" TYPE INTEGER, ALTER COLUMN "mime_type" SET NOT NULL;`,
        `CREATE UNIQUE INDEX "files_name_unique" ON "files"("name");`,
        `ALTER TYPE "Role" RENAME VALUE 'USER' TO 'MEMBER';`,
        `DROP TABLE "activities";`,
        `ALTER TABLE "folders" ADD CONSTRAINT "folders_name_short" CHECK (length(name) < 10);`,
        // Harmless: additions, and changes to a table the previous release never knew.
        `ALTER TABLE "folders" ADD COLUMN "color" TEXT NOT NULL DEFAULT 'none', ADD COLUMN "note" TEXT;`,
        `CREATE TABLE "labels" ("id" TEXT PRIMARY KEY, "name" TEXT);`,
        `CREATE UNIQUE INDEX "labels_name" ON "labels"("name");`,
        `ALTER TABLE "labels" ALTER COLUMN "name" SET NOT NULL;`,
        `ALTER TYPE "Role" ADD VALUE 'AUDITOR';`,
      ].join("\n"),
    });
    const { problems } = await checkMigrationsSince(REPO, release, dir);
    expect(problems.map((problem) => problem.split(":")[1].trim())).toEqual([
      "RENAME (COLUMN)",
      "ALTER COLUMN size TYPE",
      "SET NOT NULL on mime_type",
      "a new UNIQUE index on an existing table",
      "RENAME VALUE of an enum",
      "DROP TABLE activities",
      "ADD CONSTRAINT (CHECK) on an existing table",
    ]);
  });

  it("allows a contract migration whose expand step shipped, and refuses one whose expand step did not", async () => {
    const contract = (expand: string) => `-- coffer:contract ${expand}: the release after it stopped reading "name".\n${DROP_COLUMN}`;
    const shipped = await checkMigrationsSince(
      REPO,
      release,
      migrationsWith({ "20991231000000_contract": contract(release.lastMigration) }),
    );
    expect(shipped.problems).toEqual([]);
    expect(shipped.contracted.map((entry) => entry.change.reason)).toEqual(["DROP COLUMN name: the previous release reads and writes it"]);

    const early = await checkMigrationsSince(
      REPO,
      release,
      migrationsWith({ "20991231000000_expand": "SELECT 1;", "20991231000100_contract": contract("20991231000000_expand") }),
    );
    expect(early.problems).toEqual([
      expect.stringContaining(`its contract marker names 20991231000000_expand, which did not ship in release ${release.version}`),
    ]);
  });

  it("refuses editing or removing a migration the previous release shipped", async () => {
    const dir = migrationsWith({});
    fs.appendFileSync(path.join(dir, release.lastMigration, "migration.sql"), "\nSELECT 1;\n");
    fs.rmSync(path.join(dir, "20261125000000_init"), { recursive: true });
    const { problems } = await checkMigrationsSince(REPO, release, dir);
    expect(problems).toEqual([
      `20261125000000_init shipped in release ${release.version} and was removed: databases have it applied`,
      `${release.lastMigration} shipped in release ${release.version} and was changed: add a new migration instead`,
    ]);
  });

  it("says how to fix a clone without the previous release's history, and passes a full clone", () => {
    // A release one commit back: outside a clone of depth 1 whatever HEAD is.
    const older = { ...release, commit: execFileSync("git", ["-C", REPO, "rev-parse", "HEAD~1"], { encoding: "utf8" }).trim() };
    const shallow = path.join(scratch, "shallow");
    execFileSync("git", ["clone", "--quiet", "--no-checkout", "--depth", "1", `file://${REPO}`, shallow]);
    expect(() => requireCommit(shallow, older)).toThrow(
      new RegExp(`previous release ${older.version} \\(commit ${older.commit}.*\\) is not in this clone, which is shallow.*fetch-depth: 0`),
    );
    const full = path.join(scratch, "full");
    execFileSync("git", ["clone", "--quiet", "--no-checkout", REPO, full]);
    expect(() => requireCommit(full, older)).not.toThrow();
    expect(() => requireCommit(full, release)).not.toThrow();
  });
});

describe("npm run release:record", () => {
  it("names a version tag as the previous release, with its commit and last migration", () => {
    const clone = path.join(scratch, "release-clone");
    execFileSync("git", ["clone", "--quiet", REPO, clone]);
    fs.cpSync(path.join(REPO, "scripts"), path.join(clone, "scripts"), { recursive: true });
    fs.copyFileSync(path.join(REPO, "deploy/releases.json"), path.join(clone, "deploy/releases.json"));
    fs.symlinkSync(path.join(REPO, "node_modules"), path.join(clone, "node_modules"), "dir");
    const tagged = execFileSync("git", ["-C", clone, "rev-parse", "HEAD~1"], { encoding: "utf8" }).trim();
    execFileSync("git", ["-C", clone, "tag", "v9.8.7", tagged]);
    execFileSync(process.execPath, ["--import", "tsx", "scripts/migration-gate/record-release.ts", "v9.8.7"], { cwd: clone });
    const recorded = readPreviousRelease(clone);
    expect(recorded).toEqual({ version: "9.8.7", tag: "v9.8.7", commit: tagged, lastMigration: migrationsAt(clone, tagged).at(-1) });
    expect(() =>
      execFileSync(process.execPath, ["--import", "tsx", "scripts/migration-gate/record-release.ts", "9.8.7"], {
        cwd: clone,
        stdio: "pipe",
      }),
    ).toThrow(/usage: npm run release:record vX\.Y\.Z/);
  });
});

describe("expand/contract, against the previous release's Prisma client", () => {
  let client: ReturnType<typeof generatePreviousClient>;
  beforeAll(() => {
    client = generatePreviousClient(REPO, release, path.join(scratch, "previous-client"));
  });
  const failures = (results: ProbeResult[]) => results.filter((result) => result.error !== null);

  it("creates and reads a row of every model on a database migrated to HEAD", async () => {
    const { url } = await createTestDatabase();
    const results = await probeEveryModel(client.clientModule, client.datamodel, url);
    expect(results.map((result) => result.model).sort()).toEqual(client.datamodel.models.map((model) => model.name).sort());
    expect(failures(results)).toEqual([]);
  });

  async function probeWith(name: string, sql: string) {
    const { url } = await createTestDatabase();
    expect(await runMigrations(url, migrationsWith({ [name]: sql }))).toEqual([name]);
    return failures(await probeEveryModel(client.clientModule, client.datamodel, url));
  }

  it("fails on a planted DROP COLUMN", async () => {
    const failed = await probeWith("20991231000000_planted_drop", DROP_COLUMN);
    expect(failed[0]).toEqual({ model: "User", error: expect.stringMatching(/column.*name.*does not exist/i) });
  });

  it("fails on a planted NOT NULL column without a default", async () => {
    const failed = await probeWith("20991231000100_planted_not_null", NOT_NULL_WITHOUT_DEFAULT);
    expect(failed[0]).toEqual({ model: "Folder", error: expect.stringMatching(/Null constraint violation.*color/) });
  });
});
