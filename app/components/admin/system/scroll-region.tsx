import type { ReactNode } from "react";

/**
 * A table that may be wider than a phone's screen: it scrolls sideways, and takes the keyboard
 * focus so that people without a pointer can scroll it too (arrow keys).
 */
export function ScrollRegion({ labelledBy, children }: { labelledBy: string; children: ReactNode }) {
  return (
    <div className="overflow-x-auto focus-visible:outline-offset-[-2px]" role="region" aria-labelledby={labelledBy} tabIndex={0}>
      {children}
    </div>
  );
}
