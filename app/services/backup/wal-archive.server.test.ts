import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { archiveCommand } from "./wal-archive.server";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs the archive_command as PostgreSQL does: %p relative to the cluster, %f the file name, through sh. */
function archive(stagingDir: string, cluster: string, name: string): number {
  const command = archiveCommand(stagingDir).replaceAll("%p", `pg_wal/${name}`).replaceAll("%f", name);
  try {
    execFileSync("sh", ["-c", command], { cwd: cluster, stdio: "pipe" });
    return 0;
  } catch (error) {
    return (error as { status: number }).status;
  }
}

function scene() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-archive-"));
  dirs.push(root);
  // A quote in the path: the command must quote it for the shell.
  const staging = path.join(root, "it's staging");
  const cluster = path.join(root, "cluster");
  fs.mkdirSync(staging);
  fs.mkdirSync(path.join(cluster, "pg_wal"), { recursive: true });
  return { staging, cluster };
}

describe("the archive_command", () => {
  const name = "000000010000000000000003";

  it("copies a finished segment into staging, leaving no temporary file", () => {
    const { staging, cluster } = scene();
    const segment = randomBytes(4096);
    fs.writeFileSync(path.join(cluster, "pg_wal", name), segment);
    expect(archive(staging, cluster, name)).toBe(0);
    expect(fs.readFileSync(path.join(staging, name)).equals(segment)).toBe(true);
    expect(fs.readdirSync(staging)).toEqual([name]);
  });

  it("succeeds again for the same bytes, and refuses to overwrite different ones", () => {
    const { staging, cluster } = scene();
    const segment = randomBytes(4096);
    fs.writeFileSync(path.join(cluster, "pg_wal", name), segment);
    expect(archive(staging, cluster, name)).toBe(0);
    expect(archive(staging, cluster, name)).toBe(0);

    fs.writeFileSync(path.join(cluster, "pg_wal", name), randomBytes(4096));
    expect(archive(staging, cluster, name)).not.toBe(0);
    expect(fs.readFileSync(path.join(staging, name)).equals(segment)).toBe(true);
  });

  it("fails, archiving nothing, when the segment cannot be read", () => {
    const { staging, cluster } = scene();
    expect(archive(staging, cluster, name)).not.toBe(0);
    expect(fs.readdirSync(staging)).toEqual([]);
  });
});
