// Public share links as their owner sees them: the list, how many still work, and their URL.
import { Prisma } from "~/generated/prisma/client";
import type { Services } from "~/services/index.server";
import { NotFoundError } from "../errors";
import { isId } from "../ids";
import type { Actor, ItemRef } from "./share-links.server";

export interface MyLink {
  id: string;
  token: string;
  mode: "READ" | "DROP";
  item: { kind: "file" | "folder"; id: string; name: string; inTrash: boolean };
  hasPassword: boolean;
  createdAt: Date;
  expiresAt: Date | null;
  expired: boolean;
  maxDownloads: number | null;
  downloadCount: number;
  /** The row's version stamp: a change sent with If-Match claims it. */
  updatedAt: Date;
}

const LINK_ITEM = {
  file: { select: { id: true, name: true, trashedAt: true } },
  folder: { select: { id: true, name: true, trashedAt: true } },
} as const;

type LinkWithItem = Prisma.ShareLinkGetPayload<{ include: typeof LINK_ITEM }>;

export async function listMyLinks(services: Services, actor: Actor, item?: ItemRef | null): Promise<MyLink[]> {
  const links = await services.prisma.shareLink.findMany({
    where: {
      ownerId: actor.id,
      ...(item ? (item.kind === "file" ? { fileId: item.id } : { folderId: item.id }) : {}),
    },
    orderBy: [{ createdAt: "desc" }, { id: "asc" }],
    include: LINK_ITEM,
  });
  const now = Date.now();
  return links.map((link) => myLink(link, now));
}

/** One of the actor's links; NotFound for anyone else's or a malformed id. */
export async function getMyLink(services: Services, actor: Actor, linkId: string): Promise<MyLink> {
  const link = isId(linkId) ? await services.prisma.shareLink.findUnique({ where: { id: linkId }, include: LINK_ITEM }) : null;
  if (!link || link.ownerId !== actor.id) throw new NotFoundError("That link");
  return myLink(link, Date.now());
}

function myLink(link: LinkWithItem, now: number): MyLink {
  const target = link.file ?? link.folder;
  return {
    id: link.id,
    token: link.token,
    mode: link.mode,
    item: { kind: link.file ? "file" : "folder", id: target?.id ?? "", name: target?.name ?? "", inTrash: Boolean(target?.trashedAt) },
    hasPassword: link.passwordHash !== null,
    createdAt: link.createdAt,
    expiresAt: link.expiresAt,
    expired: link.expiresAt !== null && link.expiresAt.getTime() <= now,
    maxDownloads: link.maxDownloads,
    downloadCount: link.downloadCount,
    updatedAt: link.updatedAt,
  };
}

/**
 * The SQL condition (over share_links) for a link that still works: not expired and, when it has
 * a download limit, not used up. The same rule `resolveShare` applies to a single link.
 */
export const ACTIVE_SHARE_LINK_SQL = Prisma.sql`(expires_at IS NULL OR expires_at > now())
  AND (max_downloads IS NULL OR download_count < max_downloads)`;

/** How many public links to the item still work. */
export async function countActiveShareLinks(services: Services, item: ItemRef): Promise<number> {
  const column = item.kind === "file" ? Prisma.sql`file_id` : Prisma.sql`folder_id`;
  const [row] = await services.prisma.$queryRaw<Array<{ count: number }>>`
    SELECT count(*)::int AS count FROM share_links WHERE ${column} = ${item.id} AND ${ACTIVE_SHARE_LINK_SQL}`;
  return row?.count ?? 0;
}

/** The absolute URL of a link: APP_URL when configured, else the origin the request came to. */
export function shareUrl(services: Services, request: Request, token: string): string {
  const base = services.config.appUrl ?? new URL(request.url).origin;
  return `${base.replace(/\/+$/, "")}/s/${token}`;
}
