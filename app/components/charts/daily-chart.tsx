import { Card } from "~/components/ui/card";
import { chartScale, shortDay, type ChartScale } from "./scale";

export interface ChartSeries {
  label: string;
  /** One per day; null where nothing was measured (drawn as a gap). */
  values: Array<number | null>;
}

export interface DailyChartProps {
  id: string;
  title: string;
  /** UTC days, YYYY-MM-DD, oldest first. */
  days: string[];
  series: ChartSeries[];
  /** Bars for one counted series, lines for levels or several series. */
  kind: "bars" | "lines";
  format: (value: number) => string;
  /** Grid lines at round binary sizes. */
  bytes?: boolean;
  /** One sentence under the chart saying what it shows at a glance. */
  summary: string;
}

// Colours with at least 4.5:1 contrast on white, each with its own dash pattern so lines
// differ without colour too.
const STYLES = [
  { color: "#1d4ed8", dash: "" },
  { color: "#c2410c", dash: "6 3" },
  { color: "#047857", dash: "2 3" },
  { color: "#7e22ce", dash: "9 3 2 3" },
  { color: "#be123c", dash: "12 4" },
  { color: "#475569", dash: "1 5" },
];

const WIDTH = 640;
const HEIGHT = 220;
const PLOT = { left: 72, right: 12, top: 12, bottom: 28 };

/**
 * A chart of daily figures drawn on the server as SVG, so it reads without JavaScript. The SVG
 * is decoration for sighted readers; the same figures are in a table for screen readers.
 */
export function DailyChart({ id, title, days, series, kind, format, bytes = false, summary }: DailyChartProps) {
  const scale = chartScale(
    series.flatMap((s) => s.values),
    days.length,
    { width: WIDTH, height: HEIGHT, ...PLOT },
    bytes,
  );
  const labelled = [0, Math.floor((days.length - 1) / 2), days.length - 1].filter((i, n, all) => all.indexOf(i) === n);
  return (
    <Card as="figure" padding="none" className="p-4" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`} className="text-lg font-semibold">
        {title}
      </h2>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} className="mt-2 h-auto w-full" aria-hidden="true" focusable="false">
        {scale.ticks.map((tick) => (
          <g key={tick}>
            <line x1={PLOT.left} x2={WIDTH - PLOT.right} y1={scale.y(tick)} y2={scale.y(tick)} stroke="#e2e8f0" />
            <text x={PLOT.left - 6} y={scale.y(tick) + 4} textAnchor="end" fontSize="11" fill="#475569">
              {format(tick)}
            </text>
          </g>
        ))}
        {labelled.map((i) => (
          <text key={days[i]} x={scale.x(i)} y={HEIGHT - 8} textAnchor={anchorFor(i, days.length)} fontSize="11" fill="#475569">
            {shortDay(days[i])}
          </text>
        ))}
        {series.map((s, n) =>
          kind === "bars" ? (
            <Bars key={s.label} days={days} series={s} scale={scale} color={STYLES[n % STYLES.length].color} />
          ) : (
            <Line key={s.label} days={days} series={s} scale={scale} style={STYLES[n % STYLES.length]} />
          ),
        )}
      </svg>
      {series.length > 1 && (
        <ul className="mt-2 flex flex-wrap gap-x-4 gap-y-1 text-sm text-text-muted" aria-hidden="true">
          {series.map((s, n) => (
            <li key={s.label} className="flex items-center gap-1">
              <svg width="24" height="8" aria-hidden="true" focusable="false">
                <line
                  x1="0"
                  x2="24"
                  y1="4"
                  y2="4"
                  stroke={STYLES[n % STYLES.length].color}
                  strokeWidth="2.5"
                  strokeDasharray={STYLES[n % STYLES.length].dash}
                />
              </svg>
              {s.label}
            </li>
          ))}
        </ul>
      )}
      <figcaption className="mt-2 text-sm text-text-muted">{summary}</figcaption>
      <table className="sr-only">
        <caption>{title}, by day</caption>
        <thead>
          <tr>
            <th scope="col">Day (UTC)</th>
            {series.map((s) => (
              <th key={s.label} scope="col">
                {s.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {days.map((day, i) => (
            <tr key={day}>
              <th scope="row">{day}</th>
              {series.map((s) => (
                <td key={s.label}>{s.values[i] === null ? "not measured" : format(s.values[i] as number)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </Card>
  );
}

function anchorFor(index: number, count: number): "start" | "middle" | "end" {
  if (index === 0) return "start";
  return index === count - 1 ? "end" : "middle";
}

function Bars({ days, series, scale, color }: { days: string[]; series: ChartSeries; scale: ChartScale; color: string }) {
  return (
    <g fill={color}>
      {series.values.map((value, i) =>
        value === null || value === 0 ? null : (
          <rect
            key={days[i]}
            x={scale.x(i) - scale.barWidth / 2}
            width={scale.barWidth}
            y={scale.y(value)}
            height={scale.y(0) - scale.y(value)}
          />
        ),
      )}
    </g>
  );
}

function Line({
  days,
  series,
  scale,
  style,
}: {
  days: string[];
  series: ChartSeries;
  scale: ChartScale;
  style: { color: string; dash: string };
}) {
  // A null value breaks the line: nothing was measured that day.
  let path = "";
  let drawing = false;
  series.values.forEach((value, i) => {
    if (value === null) {
      drawing = false;
      return;
    }
    path += `${drawing ? "L" : "M"}${scale.x(i).toFixed(1)},${scale.y(value).toFixed(1)}`;
    drawing = true;
  });
  const lone = series.values
    .map((value, i) => ({ value, i }))
    .filter(({ value, i }) => value !== null && (series.values[i - 1] ?? null) === null && (series.values[i + 1] ?? null) === null);
  return (
    <g>
      <path d={path} fill="none" stroke={style.color} strokeWidth="2.5" strokeDasharray={style.dash} strokeLinejoin="round" />
      {lone.map(({ value, i }) => (
        <circle key={days[i]} cx={scale.x(i)} cy={scale.y(value as number)} r="3" fill={style.color} />
      ))}
    </g>
  );
}
