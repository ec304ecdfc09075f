import type { File as FileRecord } from "~/generated/prisma/client";
import type { Services } from "~/services/index.server";
import type { SessionUser } from "../accounts/sessions.server";
import { canRead } from "~/domain/sharing/access.server";
import { previewKind } from "./previews.server";
import type { Gallery, Subtitles } from "./viewer";
import { nameKey } from "./names";

type Actor = Pick<SessionUser, "id" | "role">;

/** The most images a gallery steps through; a larger folder's gallery stops there. */
export const GALLERY_LIMIT = 2000;

/**
 * Whether the viewer may see the file's siblings: only who may read its folder. Someone given
 * a single file (a file share) sees that file alone: no neighbours, no subtitles.
 */
async function mayReadFolder(services: Services, user: Actor, file: FileRecord): Promise<boolean> {
  const folder = await services.prisma.folder.findUnique({ where: { id: file.folderId }, select: { id: true, ownerId: true } });
  return folder !== null && canRead(services, user, { kind: "folder", id: folder.id, ownerId: folder.ownerId });
}

/**
 * Previous and next among the images of the file's folder (live ones, by name, as the folder
 * lists them), and where the file is among them; null for a lone image or when the folder is
 * not the viewer's to read.
 */
export async function imageGallery(
  services: Services,
  user: Actor,
  file: FileRecord,
  href: (id: string) => string,
): Promise<Gallery | null> {
  if (!(await mayReadFolder(services, user, file))) return null;
  const siblings = await services.prisma.file.findMany({
    where: { folderId: file.folderId, trashedAt: null, mimeType: { startsWith: "image/" } },
    select: { id: true, name: true, mimeType: true },
    orderBy: [{ nameKey: "asc" }, { id: "asc" }],
    take: GALLERY_LIMIT,
  });
  const images = siblings.filter((sibling) => previewKind(sibling) === "image");
  const at = images.findIndex((image) => image.id === file.id);
  if (at < 0 || images.length < 2) return null;
  const link = (image: (typeof images)[number] | undefined) => (image ? { href: href(image.id), name: image.name } : null);
  return { position: at + 1, total: images.length, previous: link(images[at - 1]), next: link(images[at + 1]) };
}

/** A WebVTT file beside a video with the same base name ("talk.mp4" → "talk.vtt"), as its subtitles. */
export async function videoSubtitles(
  services: Services,
  user: Actor,
  file: FileRecord,
  src: (id: string) => string,
): Promise<Subtitles | null> {
  const dot = file.name.lastIndexOf(".");
  const base = dot > 0 ? file.name.slice(0, dot) : file.name;
  if (!(await mayReadFolder(services, user, file))) return null;
  const track = await services.prisma.file.findFirst({
    where: { folderId: file.folderId, trashedAt: null, nameKey: nameKey(`${base}.vtt`) },
    select: { id: true, name: true },
  });
  return track ? { src: src(track.id), label: track.name } : null;
}
