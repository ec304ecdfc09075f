export interface ChartScale {
  /** The x of day i's centre. */
  x(index: number): number;
  /** The y of a value (0 at the bottom of the plot). */
  y(value: number): number;
  /** Values of the horizontal grid lines, 0 first. */
  ticks: number[];
  barWidth: number;
}

export interface ChartBox {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

const TICKS = 4;

/** Maps day indexes and values into the plot area, the top rounded up to a readable step. */
export function chartScale(values: Array<number | null>, count: number, box: ChartBox, bytes = false): ChartScale {
  const max = Math.max(0, ...values.filter((v): v is number => v !== null));
  const step = bytes ? niceByteStep(max / TICKS) : niceStep(max / TICKS);
  const top = step * TICKS;
  const plotWidth = box.width - box.left - box.right;
  const plotHeight = box.height - box.top - box.bottom;
  const slot = plotWidth / Math.max(1, count);
  return {
    x: (index) => box.left + slot * (index + 0.5),
    y: (value) => box.top + plotHeight * (1 - value / top),
    ticks: Array.from({ length: TICKS + 1 }, (_, i) => i * step),
    barWidth: Math.max(1, slot * 0.7),
  };
}

/** The smallest 1, 2 or 5 × 10ⁿ at least `raw`, and at least 1 (counts are whole). */
export function niceStep(raw: number): number {
  return Math.max(1, roundUpTo125(raw));
}

/**
 * A step in the binary unit of the chart's top value, so grid lines read "1.5 GiB", "2.0 GiB"
 * rather than "1.9 GiB", and a chart of a few KiB counts in KiB.
 */
export function niceByteStep(raw: number): number {
  if (!(raw > 0)) return 1;
  const unit = 1024 ** Math.max(0, Math.min(4, Math.floor(Math.log(raw * TICKS) / Math.log(1024))));
  return unit === 1 ? niceStep(raw) : roundUpTo125(raw / unit) * unit;
}

function roundUpTo125(raw: number): number {
  if (!(raw > 0)) return 0;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  for (const factor of [1, 2, 5]) {
    if (factor * magnitude >= raw * (1 - 1e-9)) return factor * magnitude;
  }
  return 10 * magnitude;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** "2026-12-05" → "5 Dec". */
export function shortDay(day: string): string {
  const [, month, date] = day.split("-").map(Number);
  return `${date} ${MONTHS[month - 1]}`;
}
