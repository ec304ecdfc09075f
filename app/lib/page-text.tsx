import { createContext, useContext, useState } from "react";

/**
 * Long texts a page shows (a text preview) that go into the HTML once and not a second time
 * into Remix's hydration data. On a document request the loader leaves the text out of its
 * data and puts it in `context.pageTexts` (see page-text.server.ts); entry.server provides
 * that map to the render here; in the browser the hydrating component reads the text back
 * from the element the server rendered. Client navigations get the text in the loader data.
 */
/** The DOM id of a text preview; its text is in the HTML only. */
export const TEXT_PREVIEW_ID = "text-preview";

const PageTextsContext = createContext<ReadonlyMap<string, string> | null>(null);

export const PageTextsProvider = PageTextsContext.Provider;

/**
 * The text for the element with this DOM id: from the loader data when it came with it, from
 * the server's map while rendering HTML, else from the server-rendered element (hydration).
 * Null only when none of them has it. A component using it needs a `key` per text, so a
 * different text mounts afresh.
 */
export function usePageText(elementId: string, fromData: string | null, as: "text" | "html" = "text"): string | null {
  const serverTexts = useContext(PageTextsContext);
  // "html": the text is markup made safe on the server (highlighted code, rendered Markdown),
  // so the element's innerHTML is read back.
  const [fromDom] = useState(() => {
    if (fromData !== null || typeof document === "undefined") return null;
    const element = document.getElementById(elementId);
    return (as === "html" ? element?.innerHTML : element?.textContent) ?? null;
  });
  return fromData ?? serverTexts?.get(elementId) ?? fromDom;
}
