import type { BulkOutcome } from "./bulk.server";

/**
 * What POST /bulk answers when it does not redirect: the outcome of a drag-and-drop move (which
 * posts from a fetcher and asks for it inline), or a refusal. The page and the drag-and-drop
 * component both read it.
 */
export type BulkActionData = { ok: true; outcome: BulkOutcome; back: string } | { ok: false; message: string; back: string };
