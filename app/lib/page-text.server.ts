import type { AppLoadContext } from "@remix-run/node";
import { TEXT_PREVIEW_ID } from "./page-text";

/**
 * A long text for the loader data, sent once: on a document request it goes only into the
 * HTML (returns null; `usePageText(elementId, …)` renders it), on a data request (client
 * navigation, revalidation) only into the data.
 */
export function textForPage(context: AppLoadContext, elementId: string, text: string): string | null {
  if (!context.rendersDocument || text.length === 0) return text;
  context.pageTexts.set(elementId, text);
  return null;
}

/** A viewer (ViewerData in ~/domain/viewer) whose text preview is sent once (see textForPage). */
export function viewerForPage<Viewer extends { kind: string }>(context: AppLoadContext, viewer: Viewer): Viewer {
  if (!isTextViewer(viewer) || viewer.text === null) return viewer;
  return { ...viewer, text: textForPage(context, TEXT_PREVIEW_ID, viewer.text) };
}

function isTextViewer<Viewer extends { kind: string }>(viewer: Viewer): viewer is Viewer & { kind: "text"; text: string | null } {
  return viewer.kind === "text";
}
