import type { PickedFile } from "./upload-queue";

// Turns what was dropped or chosen into files to upload, each with its directory inside a picked folder.

/** "Photos/2024/a.jpg" → "Photos/2024/"; "a.jpg" → "". */
export function directoryOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "" : path.slice(0, slash + 1);
}

/** The dropped entries when the browser supports them (folders included); null otherwise. */
export function entriesOf(dataTransfer: DataTransfer): FileSystemEntry[] | null {
  const items = Array.from(dataTransfer.items ?? []);
  if (items.length === 0 || typeof items[0].webkitGetAsEntry !== "function") return null;
  const entries: FileSystemEntry[] = [];
  for (const item of items) {
    if (item.kind !== "file") continue;
    const entry = item.webkitGetAsEntry();
    if (entry) entries.push(entry);
  }
  return entries.length > 0 ? entries : null;
}

/**
 * Walks dropped entries depth-first; each file gets the directory it was found in. Directories
 * with nothing in them are listed too ("Tree/empty/"): no file will recreate them.
 */
export async function filesFromEntries(entries: FileSystemEntry[]): Promise<{ files: PickedFile[]; emptyDirs: string[] }> {
  const found: PickedFile[] = [];
  const emptyDirs: string[] = [];
  const walk = async (entry: FileSystemEntry, dir: string): Promise<void> => {
    if (entry.isFile) {
      try {
        const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
        found.push({ file, relativePath: dir });
      } catch {
        // An unreadable file (permissions, vanished meanwhile) is skipped; the rest still uploads.
      }
    } else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      const path = `${dir}${entry.name}/`;
      // readEntries answers in batches (100 in Chromium) until it returns an empty one.
      let children = 0;
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
        if (batch.length === 0) break;
        children += batch.length;
        for (const child of batch) await walk(child, path);
      }
      if (children === 0) emptyDirs.push(path);
    }
  };
  for (const entry of entries) {
    try {
      await walk(entry, "");
    } catch {
      // An unreadable entry (permissions, a vanished file) is skipped; the rest still uploads.
    }
  }
  return { files: found, emptyDirs };
}
