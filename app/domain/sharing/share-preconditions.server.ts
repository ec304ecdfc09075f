import type { Services } from "~/services/index.server";
import { changeIfCurrent, StaleShareError } from "../versioned-claim.server";
import type { Actor } from "../files/operations.server";
import { getMyLink, type MyLink } from "./share-link-listing.server";
import { getMyUserShare, type MyUserShare } from "./user-shares.server";

export { StaleShareError };

/**
 * Runs a change of one of the actor's share links only when the link is still the version the
 * caller saw (`isCurrent`); of two callers holding the same version exactly one runs, the other
 * gets StaleShareError (412). Another account's link is not found, before any comparison.
 */
export function changeLinkIfCurrent<T>(
  services: Services,
  actor: Actor,
  linkId: string,
  isCurrent: (link: MyLink) => boolean,
  change: () => Promise<T>,
): Promise<T> {
  const links = services.prisma.shareLink;
  return changeIfCurrent<MyLink, T>(
    {
      async load() {
        const view = await getMyLink(services, actor, linkId);
        return { view, updatedAt: view.updatedAt };
      },
      async swap(before, after, view) {
        // Every field of the row the caller's version shows: a download or a change in between fails the claim.
        const where = {
          id: view.id,
          updatedAt: before,
          mode: view.mode,
          expiresAt: view.expiresAt,
          maxDownloads: view.maxDownloads,
          downloadCount: view.downloadCount,
          passwordHash: view.hasPassword ? { not: null } : null,
        };
        return (await links.updateMany({ where, data: { updatedAt: after } })).count;
      },
      restore: (before, after) =>
        links.updateMany({
          where: { id: linkId, updatedAt: after },
          data: { updatedAt: before },
        }),
    },
    isCurrent,
    change,
  );
}

/** As `changeLinkIfCurrent`, for one of the actor's shares with another account. */
export function changeUserShareIfCurrent<T>(
  services: Services,
  actor: Actor,
  shareId: string,
  isCurrent: (share: MyUserShare) => boolean,
  change: () => Promise<T>,
): Promise<T> {
  const shares = services.prisma.userShare;
  return changeIfCurrent<MyUserShare, T>(
    {
      async load() {
        const view = await getMyUserShare(services, actor, shareId);
        return { view, updatedAt: view.updatedAt };
      },
      async swap(before, after, view) {
        const where = {
          id: view.id,
          updatedAt: before,
          permission: view.permission,
          granteeId: view.grantee.id,
        };
        return (await shares.updateMany({ where, data: { updatedAt: after } })).count;
      },
      restore: (before, after) =>
        shares.updateMany({
          where: { id: shareId, updatedAt: after },
          data: { updatedAt: before },
        }),
    },
    isCurrent,
    change,
  );
}
