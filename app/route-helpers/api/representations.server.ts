import type { z } from "zod";
import type { Item } from "~/domain/files/operations.server";
import type { File, Folder } from "./schemas";
import { entityTag } from "./entity-tag.server";

type FolderBody = z.infer<typeof Folder>;
type FileBody = z.infer<typeof File>;

export function representItem(item: Item): FolderBody | FileBody {
  if (item.kind === "folder") {
    const { folder } = item;
    const body = {
      kind: "folder" as const,
      id: folder.id,
      name: folder.parentId === null ? "My files" : folder.name,
      parentId: folder.parentId,
      isRoot: folder.parentId === null,
      createdAt: folder.createdAt.toISOString(),
      updatedAt: folder.updatedAt.toISOString(),
    };
    return { ...body, etag: entityTag(body) };
  }
  const { file } = item;
  const body = {
    kind: "file" as const,
    id: file.id,
    name: file.name,
    parentId: file.folderId,
    size: Number(file.size),
    mimeType: file.mimeType,
    sha256: file.sha256,
    createdAt: file.createdAt.toISOString(),
    updatedAt: file.updatedAt.toISOString(),
  };
  return { ...body, etag: entityTag(body) };
}
