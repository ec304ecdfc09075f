import { formatBytes } from "~/lib/format";
import type { ViewerData } from "~/domain/files/viewer";
import { TEXT_PREVIEW_ID, usePageText } from "~/lib/page-text";

/**
 * The preview of a file, rendered on the server so it works without JavaScript. Images, PDF,
 * audio and video load from the inline route; text arrives in the page and React escapes it.
 * Give it a `key` per file: a text preview keeps what it first showed.
 */
export function FileViewer({ name, viewer, downloadHref }: { name: string; viewer: ViewerData; downloadHref: string }) {
  return (
    <section aria-labelledby="preview-heading" className="card p-4" data-testid="file-viewer" data-viewer={viewer.kind}>
      <h2 id="preview-heading" className="text-lg font-semibold">
        Preview
      </h2>
      <div className="mt-3">
        <ViewerBody name={name} viewer={viewer} downloadHref={downloadHref} />
      </div>
    </section>
  );
}

function ViewerBody({ name, viewer, downloadHref }: { name: string; viewer: ViewerData; downloadHref: string }) {
  switch (viewer.kind) {
    case "image":
      return <img src={viewer.src} alt={name} className="mx-auto max-h-[70vh] max-w-full rounded-md bg-surface object-contain" />;
    case "pdf":
      // Sandboxed by the response, not by a `sandbox` attribute. Chromium refuses to start its
      // PDF viewer in a frame whose embedder sandboxes it, whatever the allow-list (crbug.com/413851;
      // checked with Chromium 156: "sandbox", and "allow-scripts allow-same-origin", both show the
      // error page). It does render a PDF whose own response carries `CSP: sandbox`, which puts
      // the framed document in the same sandbox (unique origin, no scripts, no top navigation):
      // that is what /view sends. The trade-off: the frame itself is not sandboxed, so should the
      // PDF's document navigate the frame elsewhere, the new page is not; anything of ours it
      // could reach is again served inline only under CSP sandbox, or as an attachment.
      return (
        <div className="space-y-2">
          <iframe src={viewer.src} title={`PDF: ${name}`} className="h-[75vh] w-full rounded-md border border-border" />
          <p className="text-sm text-text-muted">
            Preview blank? Some browsers do not show PDFs inside a page.{" "}
            <a href={viewer.src} target="_blank" rel="noopener noreferrer" className="text-accent-text underline">
              Open the PDF in a new tab
            </a>{" "}
            or{" "}
            <a href={downloadHref} className="text-accent-text underline" download>
              download it
            </a>
            .
          </p>
        </div>
      );
    case "audio":
      return (
        <audio controls preload="metadata" src={viewer.src} className="w-full">
          <a href={downloadHref}>Download {name}</a>
        </audio>
      );
    case "video":
      return (
        <video controls preload="metadata" src={viewer.src} className="mx-auto max-h-[70vh] w-full rounded-md bg-black">
          <a href={downloadHref}>Download {name}</a>
        </video>
      );
    case "text":
      return (
        <div className="space-y-2">
          {viewer.truncated ? (
            <p className="text-sm text-text-muted" data-testid="text-truncated">
              Showing the first {formatBytes(viewer.shownBytes)} of {formatBytes(viewer.size)}.{" "}
              <a href={downloadHref} className="text-accent-text underline" download>
                Download the file
              </a>{" "}
              to see all of it.
            </p>
          ) : null}
          <TextContents name={name} text={viewer.text} downloadHref={downloadHref} />
        </div>
      );
    case "binary-text":
      return <p className="text-sm text-text-muted">This file does not look like text, so it is not shown here. Download it to open it.</p>;
    case "none":
      return (
        <div className="flex flex-wrap items-center gap-4">
          {viewer.thumbnail ? <img src={viewer.thumbnail} alt="" className="h-32 w-32 rounded-md bg-surface object-contain" /> : null}
          <p className="text-sm text-text-muted">There is no preview for this type of file. Download it to open it.</p>
        </div>
      );
  }
}

function TextContents({ name, text, downloadHref }: { name: string; text: string | null; downloadHref: string }) {
  const shown = usePageText(TEXT_PREVIEW_ID, text);
  if (shown === "") return <p className="text-sm text-text-muted">This file is empty.</p>;
  if (shown === null) {
    return (
      <p className="text-sm text-text-muted">
        The preview could not be shown here. Reload the page, or{" "}
        <a href={downloadHref} className="text-accent-text underline" download>
          download the file
        </a>
        .
      </p>
    );
  }
  return (
    // biome-ignore lint/a11y/useAriaPropsSupportedByRole: the label names a focusable scrollable region, as axe asks.
    <pre
      id={TEXT_PREVIEW_ID}
      tabIndex={0}
      aria-label={`Contents of ${name}`}
      className="max-h-[70vh] overflow-auto rounded-md bg-surface p-3 font-mono text-xs leading-relaxed whitespace-pre-wrap break-words text-text focus:outline-2 focus:outline-focus"
    >
      {shown}
    </pre>
  );
}
