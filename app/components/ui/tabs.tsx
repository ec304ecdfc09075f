import { Link } from "@remix-run/react";
import { cx } from "./cx";

export interface Tab {
  id: string;
  label: string;
  /** Where the tab leads: usually `?tab=<id>`, so each tab is a page of its own without JavaScript. */
  href: string;
}

/**
 * Tabs as links: each tab is a URL (`?tab=`), so they work without JavaScript, can be bookmarked
 * and keep the back button. The current one carries aria-current="page".
 */
export function Tabs({ label, tabs, current }: { label: string; tabs: Tab[]; current: string }) {
  return (
    // On a phone the tabs stay on one row and scroll sideways rather than wrap.
    <nav aria-label={label} className="overflow-x-auto border-b border-border">
      <ul className="-mb-px flex gap-1 whitespace-nowrap">
        {tabs.map((tab) => (
          <li key={tab.id}>
            <Link
              to={tab.href}
              aria-current={tab.id === current ? "page" : undefined}
              className={cx(
                "inline-block rounded-t-md border-b-2 px-3 py-2 text-sm font-medium",
                tab.id === current ? "border-accent text-accent-text" : "border-transparent text-text-muted hover:text-text",
              )}
            >
              {tab.label}
            </Link>
          </li>
        ))}
      </ul>
    </nav>
  );
}
