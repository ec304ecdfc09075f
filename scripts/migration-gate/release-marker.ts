/**
 * deploy/releases.json: the release deployed before the one being built, and the git history the
 * gates read it from.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";

export const MARKER_PATH = path.join("deploy", "releases.json");

const Release = z.object({
  version: z.string().regex(/^\d+\.\d+\.\d+$/),
  tag: z.string().nullable(),
  commit: z.string().regex(/^[0-9a-f]{40}$/),
  lastMigration: z.string().min(1),
});
export type Release = z.infer<typeof Release>;

const Marker = z.object({ about: z.string(), previous: Release });

export function readPreviousRelease(repo: string): Release {
  const text = fs.readFileSync(path.join(repo, MARKER_PATH), "utf8");
  return Marker.parse(JSON.parse(text)).previous;
}

export function writePreviousRelease(repo: string, release: Release): void {
  const file = path.join(repo, MARKER_PATH);
  const marker = Marker.parse(JSON.parse(fs.readFileSync(file, "utf8")));
  fs.writeFileSync(file, `${JSON.stringify({ ...marker, previous: Release.parse(release) }, null, 2)}\n`);
}

export function git(repo: string, ...args: string[]): string {
  return execFileSync("git", ["-C", repo, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 << 20 });
}

/** Fails, saying how to fix it, when the clone lacks the release's commit (a shallow CI checkout). */
export function requireCommit(repo: string, release: Release): void {
  try {
    git(repo, "cat-file", "-e", `${release.commit}^{commit}`);
    return;
  } catch {}
  let shallow = false;
  try {
    shallow = git(repo, "rev-parse", "--is-shallow-repository").trim() === "true";
  } catch {}
  throw new Error(
    `The previous release ${release.version} (commit ${release.commit}, named in ${MARKER_PATH}) is not in this clone` +
      (shallow ? ", which is shallow" : "") +
      ": the migration gates need the git history. Clone without --depth (actions/checkout: fetch-depth: 0), or run `git fetch --unshallow`.",
  );
}

/** The migration folders of prisma/migrations at `commit`. */
export function migrationsAt(repo: string, commit: string): string[] {
  return git(repo, "ls-tree", "-d", "--name-only", `${commit}:prisma/migrations`).split("\n").filter(Boolean).sort();
}

export function fileAt(repo: string, commit: string, file: string): string {
  return git(repo, "show", `${commit}:${file}`);
}
