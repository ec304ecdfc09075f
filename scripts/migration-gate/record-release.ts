/**
 * `npm run release:record vX.Y.Z`: names the tag as the previous release in deploy/releases.json,
 * so the migrations of the next release are checked against it. The release workflow runs it on
 * each version tag and proposes the change to main.
 */
import path from "node:path";
import { git, migrationsAt, writePreviousRelease } from "./release-marker";

const repo = path.resolve(import.meta.dirname, "../..");
const tag = process.argv[2] ?? "";
const version = /^v(\d+\.\d+\.\d+)$/.exec(tag)?.[1];
if (!version) {
  console.error("usage: npm run release:record vX.Y.Z (an existing version tag)");
  process.exit(2);
}
const commit = git(repo, "rev-parse", `${tag}^{commit}`).trim();
const lastMigration = migrationsAt(repo, commit).at(-1) ?? "";
writePreviousRelease(repo, { version, tag, commit, lastMigration });
console.log(`deploy/releases.json: previous release ${version} at ${commit}, migrations up to ${lastMigration}`);
