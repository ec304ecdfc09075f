import type { Page } from "@playwright/test";
import { expect, test } from "../../support/test";
import { MOBILE } from "../../support/a11y";
import { BASE_URL } from "../../support/env";
import { createAndOpenFolder, newAccount, register } from "../../support/helpers";

/**
 * The main file-list page with the keyboard only: the skip link, a visible focus indicator on
 * every control in the tab order, Shift+Tab back, Enter to open, and the one disclosure the page
 * has (the folder tree on small screens) opened with Enter and closed with Escape.
 */
test.describe.configure({ mode: "serial" });

const account = newAccount("keys");
const FOLDER = `Keyboard ${Date.now().toString(36)}`;
let page: Page;

interface Focused {
  /** Tag, accessible-ish name and id: enough to tell two controls apart in a failure message. */
  what: string;
  inMain: boolean;
  /** A focus indicator is drawn: the control's own outline or box-shadow, or (for a visually
   *  hidden input inside a label styled as a button) the label's. */
  indicated: boolean;
}

function focused(page: Page): Promise<Focused | null> {
  return page.evaluate(() => {
    const element = document.activeElement;
    if (!element || element === document.body) return null;
    const drawn = (node: Element) => {
      const style = getComputedStyle(node);
      const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0 && style.outlineColor !== "transparent";
      return outline || (style.boxShadow !== "none" && style.boxShadow !== "");
    };
    const box = element.getBoundingClientRect();
    const hidden = box.width <= 1 || box.height <= 1;
    const label = element.closest("label");
    const indicated = hidden ? !!label && drawn(label) : drawn(element);
    const name = (element.getAttribute("aria-label") ?? (element as HTMLElement).innerText ?? "").trim().replace(/\s+/g, " ").slice(0, 60);
    return {
      what: `${element.tagName.toLowerCase()}${element.id ? `#${element.id}` : ""} “${name}”`,
      inMain: !!element.closest("main"),
      indicated,
    };
  });
}

test.beforeAll(async ({ browser }) => {
  page = await browser.newPage({ baseURL: BASE_URL });
  await register(page, account);
  await createAndOpenFolder(page, FOLDER);
  await page.getByLabel("New folder").fill("Inner");
  await page.getByRole("button", { name: "Create folder" }).click();
  await expect(page.getByText("Created folder “Inner”.")).toBeVisible();
  await page.goto("/files");
  await page.getByTestId("tus-file-input").setInputFiles({ name: "keys.txt", mimeType: "text/plain", buffer: Buffer.from("keyboard\n") });
  await expect(page.getByTestId("upload-item").filter({ hasText: "keys.txt" })).toHaveAttribute("data-status", "done", { timeout: 30_000 });
});

test.afterAll(async () => {
  await page?.close();
});

test("the first Tab reaches a visible skip link, and Enter moves the focus to the main content", async () => {
  await page.goto("/files");
  await page.keyboard.press("Tab");
  const skip = page.getByRole("link", { name: "Skip to content" });
  await expect(skip).toBeFocused();
  const box = await skip.boundingBox();
  expect(box!.width).toBeGreaterThan(20);
  expect(box!.height).toBeGreaterThan(10);
  await page.keyboard.press("Enter");
  await expect(page.locator("main")).toBeFocused();
  await page.keyboard.press("Tab");
  expect((await focused(page))?.inMain).toBe(true);
});

for (const view of ["list", "grid"] as const) {
  test(`${view} view: every control in the tab order shows where the focus is, and Shift+Tab walks back`, async () => {
    await page.goto(`/files?view=${view}`);
    // Space ticks a row's checkbox, which enables the bulk actions (disabled ones are not in the tab order).
    await page.getByRole("checkbox", { name: "Select keys.txt" }).focus();
    await page.keyboard.press("Space");
    await expect(page.getByRole("checkbox", { name: "Select keys.txt" })).toBeChecked();
    await expect(page.getByRole("button", { name: "Download as ZIP" })).toBeEnabled();
    // Back to the top of the page (the skip link is the first control) and walk from there.
    await page.getByRole("link", { name: "Skip to content" }).focus();
    const forward: Focused[] = [(await focused(page))!];
    for (let step = 0; step < 120; step++) {
      await page.keyboard.press("Tab");
      const now = await focused(page);
      if (!now || (forward.length > 0 && now.what === forward[0].what)) break;
      forward.push(now);
    }
    // The header, the new-folder form, the uploader, the toolbar, the bulk bar and the listing all take part.
    const order = forward.map((f) => f.what).join("\n");
    expect(order).toContain("“Skip to content”");
    expect(order).toContain(`“${FOLDER}”`);
    expect(order).toContain("“keys.txt”");
    expect(order).toContain("“Download as ZIP”");
    expect(forward.filter((f) => !f.indicated).map((f) => f.what)).toEqual([]);

    // The focus is now past the last control; Shift+Tab visits the controls in reverse.
    const back: string[] = [];
    for (let step = 0; step < 5; step++) {
      await page.keyboard.press("Shift+Tab");
      back.push((await focused(page))!.what);
    }
    expect(back).toEqual(
      forward
        .slice(-5)
        .reverse()
        .map((f) => f.what),
    );
  });
}

test("Enter on a folder link opens the folder", async () => {
  await page.goto("/files?view=list");
  await page.locator("main table").getByRole("link", { name: FOLDER, exact: true }).focus();
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { level: 1, name: FOLDER })).toBeVisible();
});

test("on a phone the folder tree opens with Enter, closes with Escape and gives the focus back", async () => {
  await page.setViewportSize(MOBILE);
  await page.goto("/files");
  const details = page.locator("main details").filter({ has: page.locator("summary", { hasText: "Folders" }) });
  const summary = details.locator("summary");
  await summary.focus();
  await expect(summary).toBeFocused();
  expect((await focused(page))?.indicated).toBe(true);
  await page.keyboard.press("Enter");
  await expect(details).toHaveAttribute("open", "");
  await page.keyboard.press("Tab");
  const firstFolder = details.getByRole("link", { name: "My files" });
  await expect(firstFolder).toBeFocused();
  expect((await focused(page))?.indicated).toBe(true);
  await page.keyboard.press("Escape");
  await expect(details).not.toHaveAttribute("open", "");
  await expect(summary).toBeFocused();
  // Space toggles it as well, and Escape on the summary itself closes it.
  await page.keyboard.press("Space");
  await expect(details).toHaveAttribute("open", "");
  await page.keyboard.press("Escape");
  await expect(details).not.toHaveAttribute("open", "");
  await expect(summary).toBeFocused();
});

test("the folder page's shortcuts: ? opens the overlay with the focus in it, Escape closes it and gives the focus back", async () => {
  await page.goto("/files");
  await page.getByRole("link", { name: /Keyboard shortcuts/ }).focus();
  await page.keyboard.press("Enter");
  const overlay = page.getByRole("dialog", { name: "Keyboard shortcuts" });
  await expect(overlay).toBeVisible();
  expect(await page.evaluate(() => !!document.activeElement?.closest("dialog"))).toBe(true);
  await page.keyboard.press("Escape");
  await expect(overlay).toBeHidden();
  await expect(page.getByRole("link", { name: /Keyboard shortcuts/ })).toBeFocused();
  await page.keyboard.press("?");
  await expect(overlay).toBeVisible();
  await page.keyboard.press("Escape");
  await expect(overlay).toBeHidden();
});

test("a row's actions menu opens with Enter, moves with the arrows, and Escape gives the focus back", async () => {
  await page.goto("/files");
  const menu = page.getByTestId("listing-file").filter({ hasText: "keys.txt" }).getByTestId("row-menu");
  const summary = menu.locator(":scope > summary");
  await summary.focus();
  await page.keyboard.press("Enter");
  await expect(menu).toHaveAttribute("open", "");
  await page.keyboard.press("ArrowDown");
  await expect(menu.getByRole("link", { name: "Open", exact: true })).toBeFocused();
  await page.keyboard.press("ArrowDown");
  await expect(menu.getByRole("link", { name: "Download", exact: true })).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(menu).not.toHaveAttribute("open", "");
  await expect(summary).toBeFocused();
});

test("the toolbar's Upload is reachable by keyboard and u opens the picker", async () => {
  await page.goto("/files");
  // Until the page hydrates, Upload is the no-JS dialog's link; the picker replaces it then.
  await expect(page.getByTestId("tus-file-input")).toBeAttached();
  await page.locator("#folder-search").focus();
  await page.keyboard.press("Shift+Tab");
  await page.keyboard.press("Shift+Tab");
  await expect(page.getByTestId("tus-file-input")).toBeFocused();
  await page.locator("h1").click();
  const chooser = page.waitForEvent("filechooser");
  await page.keyboard.press("u");
  await (await chooser).setFiles([]);
});
