// Removing uploads that were begun and never finished, with the room they reserved.
import type { Services, UploadTerminator } from "~/services/index.server";

/**
 * Removes uploads abandoned for longer than UPLOAD_EXPIRY_HOURS: their partial data (local
 * partial files, S3 multipart uploads and .info objects) and their pending rows, which also
 * releases the quota they reserved. Then lets the store sweep anything expired it still knows,
 * including what an earlier termination could not remove.
 */
export async function cleanupAbandonedUploads(services: Services, uploads: UploadTerminator, now = new Date()) {
  const cutoff = new Date(now.getTime() - services.config.uploads.expiryMs);
  let removed = 0;
  // Kept (still reserving quota) when the store failed, and tried again at the next run.
  const failed: string[] = [];
  for (;;) {
    const stale = await services.prisma.upload.findMany({
      where: { createdAt: { lt: cutoff }, id: { notIn: failed } },
      select: { id: true },
      take: 200,
    });
    if (stale.length === 0) break;
    for (const { id } of stale) {
      if ((await uploads.terminate([id])).failed > 0) {
        failed.push(id);
        continue;
      }
      await services.prisma.upload.deleteMany({ where: { id } });
      removed++;
    }
  }
  const swept = await uploads.deleteExpired().catch((error) => {
    services.log.warn("tus expiry sweep failed", { error });
    return 0;
  });
  return { removed, swept };
}
