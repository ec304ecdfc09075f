import { AxeBuilder } from "@axe-core/playwright";
import { expect, type Page } from "@playwright/test";

export const DESKTOP = { width: 1280, height: 800 };
export const MOBILE = { width: 390, height: 844 };

/** WCAG 2.0 and 2.1, levels A and AA (color-contrast is an AA rule, so it runs). */
const WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

/** One line per violation and element: the rule, the page, the element and axe's own explanation. */
function describe(label: string, violations: Awaited<ReturnType<AxeBuilder["analyze"]>>["violations"]): string[] {
  return violations.flatMap((violation) =>
    violation.nodes.map((node) => `${violation.id} on ${label}: ${node.target.join(" ")} — ${node.failureSummary?.replace(/\s+/g, " ")}`),
  );
}

const VIEWPORTS = { desktop: DESKTOP, mobile: MOBILE } as const;

/**
 * Runs axe on the page as it is now, at a desktop and at a phone-sized viewport (or only those
 * given), and fails listing every violation. Ends at the desktop size again.
 */
export async function expectAccessible(page: Page, label: string, viewports: Array<keyof typeof VIEWPORTS> = ["desktop", "mobile"]) {
  const found: string[] = [];
  for (const name of viewports) {
    const viewport = VIEWPORTS[name];
    await page.setViewportSize(viewport);
    // Legacy mode runs axe in the page itself: the default finishes each run in a new blank page,
    // which with the coverage recorder on cost about a second a viewport (same-origin frames are
    // still checked; Coffer has no cross-origin ones).
    const results = await new AxeBuilder({ page }).withTags(WCAG_TAGS).setLegacyMode().analyze();
    // No passes at all would mean axe checked nothing (e.g. an empty document), not a clean page.
    expect(results.passes.length, `axe ran on ${label}`).toBeGreaterThan(0);
    found.push(...describe(`${label} (${name})`, results.violations));
  }
  await page.setViewportSize(DESKTOP);
  expect(found, `accessibility violations on ${label}`).toEqual([]);
}
