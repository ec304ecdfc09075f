import { formatBytes } from "~/lib/format";

/** Storage used, as a bar when there is a quota and as a figure when there is none. */
export function UsageMeter({ usedBytes, quotaBytes }: { usedBytes: number; quotaBytes: number | null }) {
  if (quotaBytes === null) {
    return <p className="text-xs text-text-muted">{formatBytes(usedBytes)} used</p>;
  }
  const percent = quotaBytes === 0 ? 100 : Math.min(100, Math.round((usedBytes / quotaBytes) * 100));
  const tone = percent >= 95 ? "bg-danger-strong" : percent >= 80 ? "bg-warning" : "bg-accent";
  return (
    <div className="w-40">
      <div
        className="h-1.5 w-full overflow-hidden rounded bg-border"
        role="meter"
        aria-label="Storage used"
        aria-valuemin={0}
        aria-valuemax={quotaBytes}
        aria-valuenow={usedBytes}
        aria-valuetext={`${formatBytes(usedBytes)} of ${formatBytes(quotaBytes)}`}
      >
        <div className={`h-full ${tone}`} style={{ width: `${percent}%` }} />
      </div>
      <p className="mt-1 text-xs text-text-muted">
        {formatBytes(usedBytes)} of {formatBytes(quotaBytes)} used
      </p>
    </div>
  );
}
