import { AppError } from "./errors";

// The compare-and-swap claim on a row's version stamp behind If-Match for rows that are not files
// or folders (share links, shares, webhooks): apart, so that a domain reaching for it does not load
// the sharing domain's imports.

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
