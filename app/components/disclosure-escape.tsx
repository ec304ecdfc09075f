import { useEffect } from "react";

/**
 * Escape closes the open disclosure (`<details>`) the focus is in and puts the focus back on its
 * summary, as it does for menus. Native disclosures open and close with Enter/Space already and
 * need no script; this only adds the Escape key.
 */
export function DisclosureEscape() {
  useEffect(() => {
    const onKeyDown = (event: KeyboardEvent) => {
      if (event.key !== "Escape" || event.defaultPrevented) return;
      const active = document.activeElement;
      const details = active instanceof Element ? active.closest("details[open]") : null;
      const summary = details?.querySelector(":scope > summary");
      if (!details || !(summary instanceof HTMLElement)) return;
      // Focus first: closing would hide the focused element and drop the focus to the page.
      summary.focus();
      details.removeAttribute("open");
      event.preventDefault();
    };
    document.addEventListener("keydown", onKeyDown);
    return () => document.removeEventListener("keydown", onKeyDown);
  }, []);
  return null;
}
