/**
 * The previous release's production build, made from its commit for the rollback test: its
 * sources from git, its dependencies, `npm run build`. About 1–2 minutes.
 */
import { execFile, execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { fileAt, git, type Release, requireCommit } from "./release-marker";

export interface PreviousBuild {
  dir: string;
  /** How its node_modules came about: hard links to this checkout's, or a fresh `npm ci`. */
  dependencies: "hard-linked" | "npm ci";
  seconds: number;
}

/** Asynchronous, so that a test worker stays responsive during the minutes it takes. */
export async function buildPreviousRelease(repo: string, release: Release, dir: string): Promise<PreviousBuild> {
  requireCommit(repo, release);
  const started = Date.now();
  fs.mkdirSync(dir, { recursive: true });
  const archive = path.join(dir, "..", `${path.basename(dir)}.tar`);
  git(repo, "archive", "--format=tar", `--output=${archive}`, release.commit);
  execFileSync("tar", ["-xf", archive, "-C", dir]);
  fs.rmSync(archive);

  // No NODE_ENV from the caller (vitest's "test"): npm and the build choose their own.
  const { NODE_ENV: _, ...env } = process.env;
  const run = (command: string, args: string[]) =>
    promisify(execFile)(command, args, {
      cwd: dir,
      env: { ...env, PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY || "/bin/sh" } as unknown as NodeJS.ProcessEnv,
      maxBuffer: 64 << 20,
    });
  const dependencies = sameDependencies(repo, release) ? "hard-linked" : "npm ci";
  if (dependencies === "hard-linked") {
    // Same lock file and patches: the installed tree is identical, so link it instead of
    // installing (seconds instead of a minute). The build only adds files, never edits these.
    await promisify(execFile)("cp", ["-al", path.join(repo, "node_modules"), path.join(dir, "node_modules")]);
    await run("npm", ["run", "--silent", "db:generate"]);
  } else {
    await run("npm", ["ci", "--no-audit", "--no-fund"]);
  }
  await run("npm", ["run", "--silent", "build"]);
  return { dir, dependencies, seconds: Math.round((Date.now() - started) / 1000) };
}

/** Whether the release's package-lock.json and patches/ equal this checkout's. */
function sameDependencies(repo: string, release: Release): boolean {
  if (fileAt(repo, release.commit, "package-lock.json") !== fs.readFileSync(path.join(repo, "package-lock.json"), "utf8")) return false;
  const patches = git(repo, "ls-tree", "-r", "--name-only", release.commit, "patches/").split("\n").filter(Boolean);
  const current = fs.existsSync(path.join(repo, "patches"))
    ? fs.readdirSync(path.join(repo, "patches")).map((name) => `patches/${name}`)
    : [];
  return (
    patches.length === current.length &&
    patches.every(
      (file) =>
        fs.existsSync(path.join(repo, file)) && fileAt(repo, release.commit, file) === fs.readFileSync(path.join(repo, file), "utf8"),
    )
  );
}
