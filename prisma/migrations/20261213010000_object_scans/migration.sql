-- Malware scanning (issue 20 part 3, decision 0040): clamd's verdict on stored bytes. Keyed by the
-- object key, not the file: files and versions with the same contents share one object (decision
-- 0013), so a copy, a deduplicated upload or a restored version carries the verdict of its bytes.
-- No row: the object was stored before scanning was enabled ("unscanned"). Expand only: a new
-- table the previous release does not know (it serves files as before, unscanned).
CREATE TABLE "object_scans" (
    "storage_key" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "signature" TEXT,
    "engine" TEXT,
    "scanned_at" TIMESTAMP(3),
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "object_scans_pkey" PRIMARY KEY ("storage_key"),
    CONSTRAINT "object_scans_status_check" CHECK ("status" IN ('pending', 'clean', 'infected', 'error'))
);

CREATE INDEX "object_scans_status_idx" ON "object_scans"("status");
