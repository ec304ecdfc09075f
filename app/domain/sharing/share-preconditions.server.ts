import type { Services } from "~/services/index.server";
import { AppError } from "../errors";
import type { Actor } from "../files/operations.server";
import { getMyLink, type MyLink } from "./share-link-listing.server";
import { getMyUserShare, type MyUserShare } from "./user-shares.server";

/** The change was asked for against a version of a share link or share that is no longer current. */
export class StaleShareError<T> extends AppError {
  constructor(readonly current: T) {
    super(412, "The resource has changed since you read it. Read it again and retry.");
  }
}

/** Another claim or change got in between the read and the conditional update. */
const CLAIM_ATTEMPTS = 5;

/**
 * The version stamp of a row, claimed with a compare-and-swap as `changeIfCurrent` does for files
 * and folders (decision 0021): `load` reads the row as the caller sees it, `swap` moves its
 * updatedAt from `before` to `after` only where the row still is what was read.
 */
export interface Versioned<View> {
  load(): Promise<{ view: View; updatedAt: Date }>;
  swap(before: Date, after: Date, view: View): Promise<number>;
  restore(before: Date, after: Date): Promise<unknown>;
}

export async function changeIfCurrent<View, T>(
  row: Versioned<View>,
  isCurrent: (view: View) => boolean,
  change: () => Promise<T>,
): Promise<T> {
  let claim: { before: Date; after: Date } | null = null;
  for (let attempt = 0; attempt < CLAIM_ATTEMPTS && claim === null; attempt++) {
    const { view, updatedAt: before } = await row.load();
    if (!isCurrent(view)) throw new StaleShareError(view);
    // Strictly later, so the version the caller saw can never be current again.
    const after = new Date(Math.max(Date.now(), before.getTime() + 1));
    if ((await row.swap(before, after, view)) === 1) claim = { before, after };
  }
  // The row kept changing under us: whatever the caller saw is not current.
  if (claim === null) throw new StaleShareError((await row.load()).view);
  try {
    return await change();
  } catch (error) {
    // A refused change leaves the version as it was, unless the change itself moved it.
    await row.restore(claim.before, claim.after);
    throw error;
  }
}

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
