import type { ReactNode } from "react";
import { cx } from "./cx";

export type Tone = "neutral" | "accent" | "success" | "warning" | "danger";

const TONES: Record<Tone, string> = {
  neutral: "border-border bg-surface text-text-muted",
  accent: "border-accent-border bg-accent-soft text-accent-text",
  success: "border-success-border bg-success-soft text-success",
  warning: "border-warning-border bg-warning-soft text-warning",
  danger: "border-danger-border bg-danger-soft text-danger",
};

/** The classes of a tone, shared by Badge and Toast. */
export function toneClass(tone: Tone): string {
  return TONES[tone];
}

/** A short status word beside a name ("Admin", "Locked", "Expired"). Never the only sign of a state that matters. */
export function Badge({ tone = "neutral", children, className }: { tone?: Tone; children: ReactNode; className?: string }) {
  return (
    <span className={cx("inline-flex items-center rounded-full border px-2 py-0.5 text-xs font-medium", toneClass(tone), className)}>
      {children}
    </span>
  );
}
