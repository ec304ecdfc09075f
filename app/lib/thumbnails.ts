/** A short, stable token of a thumbnail's key, so its URL changes when the thumbnail does. */
export function thumbnailVersion(thumbnailKey: string): string {
  let hash = 0;
  for (let i = 0; i < thumbnailKey.length; i++) hash = (Math.imul(hash, 31) + thumbnailKey.charCodeAt(i)) | 0;
  return (hash >>> 0).toString(36);
}

/** `/thumbnail/<id>?v=…`, or under a share link `/s/<token>/thumbnail/<id>?v=…`. */
export function thumbnailUrl(fileId: string, thumbnailKey: string, shareToken?: string): string {
  const base = shareToken ? `/s/${encodeURIComponent(shareToken)}` : "";
  return `${base}/thumbnail/${encodeURIComponent(fileId)}?v=${thumbnailVersion(thumbnailKey)}`;
}
