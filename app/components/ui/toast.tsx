import type { ActionResult } from "~/lib/action-result";
import { toneClass } from "./badge";
import { cx } from "./cx";

/**
 * The message of an action's result: role=status for a success (read out politely), role=alert
 * for a failure. Server-rendered, so it shows without JavaScript after a plain form POST.
 */
export function Toast({ result, className }: { result: Pick<ActionResult, "ok" | "message"> | null | undefined; className?: string }) {
  if (!result?.message) return null;
  return (
    <p
      role={result.ok ? "status" : "alert"}
      className={cx("rounded-md border px-3 py-2 text-sm", toneClass(result.ok ? "success" : "danger"), className)}
    >
      {result.message}
    </p>
  );
}
