import { useId } from "react";
import { cx } from "./cx";

/**
 * A real <progress> with a visible label: assistive technology reads its value. Without `value`
 * it is indeterminate (a bar that moves, "busy").
 */
export function Progress({
  label,
  value,
  max = 100,
  detail,
  className,
}: {
  label: string;
  value?: number;
  max?: number;
  detail?: string;
  className?: string;
}) {
  const id = useId();
  return (
    <div className={cx("text-sm", className)}>
      <div className="mb-1 flex justify-between gap-2">
        <label htmlFor={id} className="text-text">
          {label}
        </label>
        {detail ? <span className="text-text-muted">{detail}</span> : null}
      </div>
      <progress id={id} className="progress" value={value} max={max} />
    </div>
  );
}
