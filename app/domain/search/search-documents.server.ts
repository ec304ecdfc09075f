import type { File as FileRecord, Folder } from "~/generated/prisma/client";
import type { SearchDocument } from "~/services/search/types";

/** The search index entry of a file. */
export function fileSearchDocument(
  file: Pick<FileRecord, "id" | "ownerId" | "name" | "folderId" | "mimeType" | "size" | "updatedAt">,
): SearchDocument {
  return {
    id: file.id,
    ownerId: file.ownerId,
    kind: "file",
    name: file.name,
    folderId: file.folderId,
    mimeType: file.mimeType,
    size: Number(file.size),
    updatedAt: file.updatedAt,
  };
}

/** The search index entry of a folder. */
export function folderSearchDocument(folder: Pick<Folder, "id" | "ownerId" | "name" | "parentId" | "updatedAt">): SearchDocument {
  return {
    id: folder.id,
    ownerId: folder.ownerId,
    kind: "folder",
    name: folder.name,
    folderId: folder.parentId,
    mimeType: null,
    size: null,
    updatedAt: folder.updatedAt,
  };
}
