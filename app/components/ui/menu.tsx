import { type ReactNode, useEffect, useRef } from "react";
import { cx } from "./cx";

const FOCUSABLE = "a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select:not([disabled])";

interface MenuProps {
  /** What the toggle shows; give it an accessible name (text, or an icon with sr-only text). */
  label: ReactNode;
  /** The toggle's accessible name, when its visible label alone does not say what it opens. */
  name?: string;
  /** Classes of the toggle (the <summary>); the kit's ghost button by default. */
  summaryClassName?: string;
  /** Which edge of the toggle the panel lines up with. */
  align?: "start" | "end";
  className?: string;
  testId?: string;
  children: ReactNode;
}

/**
 * A disclosure menu: a native <details>/<summary>, so it opens and closes with Enter, Space or a
 * click without JavaScript, and its links and forms are ordinary ones. With JavaScript: Escape
 * closes it and gives the focus back to the toggle, the arrow keys (and Home/End) move between
 * its items, a click outside or on an item closes it. It follows the disclosure pattern, not
 * role=menu, because its items are links and forms that navigate.
 */
export function Menu({ label, name, summaryClassName, align = "end", className, testId, children }: MenuProps) {
  const ref = useRef<HTMLDetailsElement>(null);
  useEffect(() => {
    const details = ref.current;
    const summary = details?.querySelector(":scope > summary");
    if (!details || !(summary instanceof HTMLElement)) return;
    const items = () => Array.from(details.querySelector(":scope > .menu-panel")?.querySelectorAll<HTMLElement>(FOCUSABLE) ?? []);
    const close = (refocus: boolean) => {
      if (refocus) summary.focus();
      details.open = false;
    };
    const onKeyDown = (event: KeyboardEvent) => {
      if (!details.open) return;
      const list = items();
      const at = list.indexOf(document.activeElement as HTMLElement);
      let next: HTMLElement | undefined;
      if (event.key === "Escape") {
        close(true);
      } else if (event.key === "ArrowDown") {
        next = list[(at + 1) % list.length];
      } else if (event.key === "ArrowUp") {
        next = list[at <= 0 ? list.length - 1 : at - 1];
      } else if (event.key === "Home") {
        next = list[0];
      } else if (event.key === "End") {
        next = list[list.length - 1];
      } else {
        return;
      }
      // Arrow keys inside a <select> change its value: leave them to it.
      if (next && document.activeElement instanceof HTMLSelectElement) return;
      next?.focus();
      event.preventDefault();
    };
    const onDocumentClick = (event: MouseEvent) => {
      if (details.open && event.target instanceof Node && !details.contains(event.target)) close(false);
    };
    const onItemClick = (event: MouseEvent) => {
      // The header stays on screen across client-side navigations: a followed link closes its menu.
      if (event.target instanceof Element && event.target.closest("a[href]")) close(false);
    };
    details.addEventListener("keydown", onKeyDown);
    details.addEventListener("click", onItemClick);
    document.addEventListener("click", onDocumentClick);
    return () => {
      details.removeEventListener("keydown", onKeyDown);
      details.removeEventListener("click", onItemClick);
      document.removeEventListener("click", onDocumentClick);
    };
  }, []);
  return (
    <details ref={ref} className={cx("relative", className)} data-testid={testId}>
      <summary
        aria-label={name}
        className={cx("cursor-pointer list-none [&::-webkit-details-marker]:hidden", summaryClassName ?? "btn-ghost")}
      >
        {label}
      </summary>
      <div className={cx("menu-panel", align === "end" ? "right-0" : "left-0")}>{children}</div>
    </details>
  );
}

/** A heading inside a menu, naming the group below it. */
export function MenuLabel({ children }: { children: ReactNode }) {
  return <p className="px-3 pb-1 pt-2 text-xs font-semibold uppercase tracking-wide text-text-muted">{children}</p>;
}

export function MenuSeparator() {
  return <hr className="my-1 border-border" />;
}

/** The classes of a menu item (a link, or a form's button). */
export const menuItemClass = "menu-item";
