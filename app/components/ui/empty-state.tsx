import type { ReactNode } from "react";

/** What an empty list says: what is (not) here, what to do next, and at most one action. */
export function EmptyState({ title, children, action }: { title: string; children?: ReactNode; action?: ReactNode }) {
  return (
    <div className="rounded-lg border border-dashed border-border-strong px-6 py-10 text-center">
      <p className="font-medium text-text">{title}</p>
      {children ? <p className="mt-1 text-sm text-text-muted">{children}</p> : null}
      {action ? <div className="mt-4 flex justify-center">{action}</div> : null}
    </div>
  );
}
