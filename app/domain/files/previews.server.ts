import type { File as FileRecord } from "~/generated/prisma/client";
import type { Services } from "~/services/index.server";
import type { ViewerData } from "./viewer";
import { downloadReply, type FileReply } from "./downloads.server";
import { servableKeys } from "./malware-scans.server";
import { noteContentRead } from "../storage-tiers/cold-tier.server";
import { highlightCode, renderMarkdown, textFormat } from "./rendered-text.server";

/**
 * How the details page (and a share page) can show a file. Decided by the server from an
 * allow-list; anything not on it, including HTML, SVG and XML whatever the uploader declared,
 * is "none" and only ever downloaded as an attachment under a sandboxing CSP.
 */
export type PreviewKind = "image" | "pdf" | "text" | "audio" | "video" | "none";

/** Types a browser shows inline without running anything of ours or the uploader's. */
const MEDIA_TYPES: Record<string, Exclude<PreviewKind, "text" | "none">> = {
  "image/jpeg": "image",
  "image/png": "image",
  "image/gif": "image",
  "image/webp": "image",
  "image/avif": "image",
  "image/bmp": "image",
  "application/pdf": "pdf",
  "audio/mpeg": "audio",
  "audio/mp4": "audio",
  "audio/aac": "audio",
  "audio/ogg": "audio",
  "audio/opus": "audio",
  "audio/wav": "audio",
  "audio/x-wav": "audio",
  "audio/wave": "audio",
  "audio/webm": "audio",
  "audio/flac": "audio",
  "audio/x-flac": "audio",
  "video/mp4": "video",
  "video/webm": "video",
  "video/ogg": "video",
};

/**
 * Shown as escaped text only (never served with their own type). Markup (text/html, XML, SVG)
 * is left out on purpose: it is active content, downloaded rather than previewed.
 */
const TEXT_TYPES = new Set([
  "application/json",
  "application/javascript",
  "application/x-javascript",
  "application/x-sh",
  "application/x-yaml",
  "application/yaml",
  "application/toml",
  "application/sql",
  "application/x-httpd-php",
]);
const NOT_TEXT = new Set(["text/html", "text/xml", "text/xsl", "text/vtt"]);
/** Source files whose extension maps to no type, or to a wrong one (.ts is "video/mp2t"). */
const CODE_EXTENSIONS = new Set([
  "ts",
  "tsx",
  "jsx",
  "mjs",
  "cjs",
  "py",
  "rb",
  "rs",
  "go",
  "java",
  "kt",
  "swift",
  "c",
  "h",
  "cc",
  "cpp",
  "hpp",
  "cs",
  "php",
  "pl",
  "lua",
  "sh",
  "bash",
  "zsh",
  "fish",
  "ps1",
  "sql",
  "r",
  "scala",
  "dart",
  "ex",
  "exs",
  "erl",
  "hs",
  "clj",
  "vue",
  "svelte",
  "md",
  "markdown",
  "rst",
  "txt",
  "log",
  "ini",
  "cfg",
  "conf",
  "env",
  "toml",
  "yaml",
  "yml",
  "json",
  "csv",
  "tsv",
  "diff",
  "patch",
  "gitignore",
  "dockerfile",
  "makefile",
  "gradle",
  "properties",
  "tex",
]);

/** Text previews read at most this much of a file. */
export const TEXT_PREVIEW_BYTES = 256 * 1024;

function baseType(mimeType: string): string {
  return mimeType.split(";")[0].trim().toLowerCase();
}

function extensionOf(name: string): string {
  const dot = name.lastIndexOf(".");
  return (dot >= 0 ? name.slice(dot + 1) : name).toLowerCase();
}

export function previewKind(file: Pick<FileRecord, "name" | "mimeType">): PreviewKind {
  const type = baseType(file.mimeType);
  const media = MEDIA_TYPES[type];
  if (media) return media;
  if (NOT_TEXT.has(type) || type.includes("xml") || type.includes("html")) return "none";
  if (type.startsWith("text/") || TEXT_TYPES.has(type)) return "text";
  if (type === "application/octet-stream" || type === "video/mp2t") {
    if (CODE_EXTENSIONS.has(extensionOf(file.name))) return "text";
  }
  return "none";
}

/** The Content-Type an inline response carries: ours, never the uploader's parameters. */
function inlineContentType(kind: PreviewKind, mimeType: string): string {
  return kind === "text" ? "text/plain; charset=utf-8" : baseType(mimeType);
}

/**
 * Every inline response, PDF included, carries `CSP: sandbox` (a unique origin, no scripts, no
 * forms, no navigation of the page) and may be framed by our own pages only.
 */
export const INLINE_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox; frame-ancestors 'self'";

/**
 * The file for a viewer on one of our pages: inline when the server classed it as safe,
 * otherwise exactly a download. Range and validators work as for downloads, so audio and video
 * can seek.
 */
export async function inlineReply(services: Services, file: FileRecord, request: Request): Promise<FileReply> {
  const kind = previewKind(file);
  if (kind === "none") return downloadReply(services, file, request);
  const reply = await downloadReply(services, file, request, {
    disposition: "inline",
    contentType: inlineContentType(kind, file.mimeType),
    contentSecurityPolicy: INLINE_CSP,
  });
  reply.headers.set("X-Frame-Options", "SAMEORIGIN");
  return reply;
}

export interface TextPreview {
  text: string;
  /** Bytes shown out of the file's size. */
  shownBytes: number;
  truncated: boolean;
}

/**
 * The first TEXT_PREVIEW_BYTES of a file decoded as UTF-8 (invalid bytes become U+FFFD; a
 * character cut at the end is dropped). Null when it looks binary (a NUL byte), so the page
 * offers the download instead of a screenful of noise. The page renders it as escaped text.
 */
export async function readTextPreview(services: Services, file: Pick<FileRecord, "storageKey" | "size">): Promise<TextPreview | null> {
  const size = Number(file.size);
  if (size === 0) return { text: "", shownBytes: 0, truncated: false };
  const length = Math.min(size, TEXT_PREVIEW_BYTES);
  void noteContentRead(services, file.storageKey);
  const stream = await services.storage.get(file.storageKey, {
    start: 0,
    end: length - 1,
  });
  const chunks: Buffer[] = [];
  let read = 0;
  for await (const chunk of stream) {
    const buffer = chunk as Buffer;
    chunks.push(buffer);
    read += buffer.length;
    // A store that ignores the range must not make us read the whole object.
    if (read >= length) {
      stream.destroy();
      break;
    }
  }
  const bytes = Buffer.concat(chunks).subarray(0, length);
  if (bytes.includes(0)) return null;
  const truncated = size > length;
  const text = new TextDecoder("utf-8", { fatal: false }).decode(bytes, {
    stream: truncated,
  });
  return { text, shownBytes: bytes.length, truncated };
}

/** A text preview as plain text, highlighted code or rendered Markdown (safe HTML made here). */
function renderText(
  file: Pick<FileRecord, "name" | "mimeType">,
  text: string,
): { format: "plain" | "code" | "markdown"; language: string | null; text: string } {
  const { format, language } = textFormat(file);
  if (format === "markdown") {
    const html = renderMarkdown(text);
    if (html !== null) return { format, language: null, text: html };
  } else if (format === "code" && language) {
    return { format, language, text: highlightCode(text, language) };
  }
  return { format: "plain", language: null, text };
}

/**
 * What the viewer on a page shows for a file; `urls` are the inline and thumbnail addresses
 * the visitor may use (their own, or the share link's). A text preview that cannot be read
 * (storage trouble) degrades to "no preview" rather than failing the page.
 */
export async function viewerData(
  services: Services,
  file: FileRecord,
  urls: { view: string | null; thumbnail: string | null },
): Promise<ViewerData> {
  // Quarantined or not yet scanned bytes (decision 0040): no preview, no thumbnail.
  if (!(await servableKeys(services, [file.storageKey])).has(file.storageKey)) return { kind: "none", thumbnail: null };
  const kind = previewKind(file);
  if (kind === "none" || !urls.view) return { kind: "none", thumbnail: urls.thumbnail };
  if (kind !== "text") return { kind, src: urls.view };
  try {
    const preview = await readTextPreview(services, file);
    if (!preview) return { kind: "binary-text" };
    return {
      kind: "text",
      ...renderText(file, preview.text),
      truncated: preview.truncated,
      shownBytes: preview.shownBytes,
      size: Number(file.size),
    };
  } catch (error) {
    services.log.warn("could not read a text preview", {
      fileId: file.id,
      error: error instanceof Error ? error.message : String(error),
    });
    return { kind: "none", thumbnail: urls.thumbnail };
  }
}
