import { Link, useNavigate } from "@remix-run/react";
import { useEffect, useRef } from "react";
import { formatBytes } from "~/lib/format";
import type { Gallery, ViewerData } from "~/domain/files/viewer";
import { TEXT_PREVIEW_ID, usePageText } from "~/lib/page-text";
import { buttonClass } from "~/components/ui/button";
import { Card } from "~/components/ui/card";

/**
 * The preview of a file, rendered on the server so it works without JavaScript. Images, PDF,
 * audio and video load from the inline route; text arrives in the page and React escapes it.
 * Give it a `key` per file: a text preview keeps what it first showed.
 */
export function FileViewer({ name, viewer, downloadHref }: { name: string; viewer: ViewerData; downloadHref: string }) {
  return (
    <Card title="Preview" aria-label="Preview" data-testid="file-viewer" data-viewer={viewer.kind}>
      <ViewerBody name={name} viewer={viewer} downloadHref={downloadHref} />
    </Card>
  );
}

function ViewerBody({ name, viewer, downloadHref }: { name: string; viewer: ViewerData; downloadHref: string }) {
  switch (viewer.kind) {
    case "image":
      return (
        <div className="space-y-3">
          <SwipeArea gallery={viewer.gallery ?? null}>
            <img
              src={viewer.src}
              alt={name}
              draggable={viewer.gallery ? false : undefined}
              className="mx-auto max-h-[70vh] max-w-full rounded-md bg-surface object-contain"
            />
          </SwipeArea>
          {viewer.gallery ? <GalleryNav gallery={viewer.gallery} /> : null}
        </div>
      );
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
        <video controls preload="metadata" src={viewer.src} className="mx-auto max-h-[70vh] w-full rounded-md bg-media">
          {viewer.subtitles ? <track kind="subtitles" src={viewer.subtitles.src} label={viewer.subtitles.label} default /> : null}
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
          {viewer.format === "plain" ? (
            <TextContents name={name} text={viewer.text} downloadHref={downloadHref} />
          ) : (
            <RenderedText name={name} format={viewer.format} language={viewer.language} html={viewer.text} downloadHref={downloadHref} />
          )}
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

/** What a text preview says instead: the file is empty, or its text did not reach the page. */
function NoText({ empty, downloadHref }: { empty: boolean; downloadHref: string }) {
  if (empty) return <p className="text-sm text-text-muted">This file is empty.</p>;
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

function TextContents({ name, text, downloadHref }: { name: string; text: string | null; downloadHref: string }) {
  const shown = usePageText(TEXT_PREVIEW_ID, text);
  if (shown === "" || shown === null) return <NoText empty={shown === ""} downloadHref={downloadHref} />;
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

/** Highlighted code or rendered Markdown: HTML the server made safe (rendered-text.server.ts). */
function RenderedText({
  name,
  format,
  language,
  html,
  downloadHref,
}: {
  name: string;
  format: "code" | "markdown";
  language: string | null;
  html: string | null;
  downloadHref: string;
}) {
  const shown = usePageText(TEXT_PREVIEW_ID, html, "html");
  if (shown === "" || shown === null) return <NoText empty={shown === ""} downloadHref={downloadHref} />;
  if (format === "markdown") {
    return (
      <div
        id={TEXT_PREVIEW_ID}
        className="markdown max-h-[70vh] overflow-auto rounded-md border border-border p-4"
        data-testid="markdown-preview"
        // biome-ignore lint/security/noDangerouslySetInnerHtml: rendered without raw HTML and checked against an allow-list on the server.
        dangerouslySetInnerHTML={{ __html: shown }}
      />
    );
  }
  return (
    // biome-ignore lint/a11y/useAriaPropsSupportedByRole: the label names a focusable scrollable region, as axe asks.
    <pre
      tabIndex={0}
      aria-label={`Contents of ${name}`}
      data-language={language ?? undefined}
      className="hljs max-h-[70vh] overflow-auto rounded-md bg-surface p-3 font-mono text-xs leading-relaxed whitespace-pre-wrap break-words text-text focus:outline-2 focus:outline-focus"
    >
      {/* biome-ignore lint/security/noDangerouslySetInnerHtml: highlight.js escapes the text and adds only class spans. */}
      <code id={TEXT_PREVIEW_ID} dangerouslySetInnerHTML={{ __html: shown }} />
    </pre>
  );
}

/** "3 of 12" with links to the previous and next images: pages of their own without JavaScript. */
function GalleryNav({ gallery }: { gallery: Gallery }) {
  return (
    <nav aria-label="Images in this folder" className="flex flex-wrap items-center justify-center gap-3" data-testid="gallery">
      {gallery.previous ? (
        <Link to={gallery.previous.href} className={buttonClass("secondary", "sm")} rel="prev" data-testid="gallery-previous">
          <span aria-hidden="true">←</span> Previous<span className="sr-only"> image, {gallery.previous.name}</span>
        </Link>
      ) : null}
      <p className="text-sm text-text-muted" data-testid="gallery-position">
        {gallery.position} of {gallery.total}
      </p>
      {gallery.next ? (
        <Link to={gallery.next.href} className={buttonClass("secondary", "sm")} rel="next" data-testid="gallery-next">
          Next<span className="sr-only"> image, {gallery.next.name}</span> <span aria-hidden="true">→</span>
        </Link>
      ) : null}
    </nav>
  );
}

/**
 * With JavaScript: ← and → step through the gallery (not while typing or in a dialog), and so
 * does a horizontal swipe on the picture.
 */
function SwipeArea({ gallery, children }: { gallery: Gallery | null; children: React.ReactNode }) {
  const navigate = useNavigate();
  const ref = useRef<HTMLDivElement>(null);
  const previous = gallery?.previous?.href ?? null;
  const next = gallery?.next?.href ?? null;
  useEffect(() => {
    if (!previous && !next) return;
    const onKey = (event: KeyboardEvent) => {
      if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
      const target = event.target as HTMLElement | null;
      if (target?.closest("input, textarea, select, [contenteditable], dialog[open], video, audio")) return;
      if (document.querySelector("dialog[open]")) return;
      const href = event.key === "ArrowLeft" ? previous : event.key === "ArrowRight" ? next : null;
      if (!href) return;
      event.preventDefault();
      navigate(href);
    };
    let startX: number | null = null;
    let startY = 0;
    const area = ref.current;
    const onDown = (event: PointerEvent) => {
      startX = event.clientX;
      startY = event.clientY;
    };
    const onUp = (event: PointerEvent) => {
      if (startX === null) return;
      const dx = event.clientX - startX;
      const dy = event.clientY - startY;
      startX = null;
      if (Math.abs(dx) < 50 || Math.abs(dx) < Math.abs(dy) * 1.5) return;
      const href = dx > 0 ? previous : next;
      if (href) navigate(href);
    };
    document.addEventListener("keydown", onKey);
    area?.addEventListener("pointerdown", onDown);
    area?.addEventListener("pointerup", onUp);
    return () => {
      document.removeEventListener("keydown", onKey);
      area?.removeEventListener("pointerdown", onDown);
      area?.removeEventListener("pointerup", onUp);
    };
  }, [previous, next, navigate]);
  return (
    <div ref={ref} className="touch-pan-y" data-testid="gallery-swipe">
      {children}
    </div>
  );
}
