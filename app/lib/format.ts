export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 10 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
}

// One formatter for the process: toLocaleString with options builds a new one on every call, which
// made the dates most of a folder page's render time (two hundred rows, one date each).
const dateFormat = new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" });

export function formatDate(value: string | Date): string {
  const date = typeof value === "string" ? new Date(value) : value;
  return `${dateFormat.format(date)} UTC`;
}

/** A waiting time, rounded to its largest unit: "40 s", "12 min", "3 h". */
export function formatAge(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3600)} h`;
}

/** A whole number with thousands separators: "12,345". */
export function formatCount(value: number): string {
  return value.toLocaleString("en-GB");
}

/** "1 upload", "3 uploads". */
export function counted(value: number, one: string, many = `${one}s`): string {
  return `${formatCount(value)} ${value === 1 ? one : many}`;
}
