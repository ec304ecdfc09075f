/**
 * Beside the object it was made from; a new content (new storageKey) gets a new thumbnail, and
 * files sharing an object (deduplication) share its thumbnail.
 */
export function thumbnailKeyFor(storageKey: string): string {
  return `${storageKey}.thumb.webp`;
}
