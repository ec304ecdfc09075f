import { spawn } from "node:child_process";
import { PassThrough, type Readable } from "node:stream";
import yauzl from "yauzl";

/**
 * Text extraction for content search. Every path is bounded: at most `maxBytes` of the object
 * (or, for OOXML/ODF, of the decompressed parts) is read, and at most `maxTextBytes` of text
 * (UTF-8) is kept. Stored text is plain: never rendered as HTML.
 */
export interface ExtractionLimits {
  maxBytes: number;
  maxTextBytes: number;
  /** The pdftotext program (poppler-utils) and how long one run may take. */
  pdftotext: { command: string; timeoutMs: number };
}

/** The object to read: its size and a (ranged) stream of it, decrypted by the store. */
export interface ExtractionSource {
  size: number;
  read(range?: { start: number; end: number }): Promise<Readable>;
}

export type ExtractionKind = "text" | "html" | "pdf" | "office";

export type Extraction =
  | { outcome: "text"; text: string; truncated: boolean }
  /** Nothing to index: not a text type, binary content, or no text in it. */
  | { outcome: "none"; reason: "unsupported" | "binary" | "empty" }
  /** pdftotext is not installed: the PDF is searchable by name only. */
  | { outcome: "unavailable" };

/** pdftotext did not finish in time or failed; the file keeps name-only search. */
export class ExtractionFailedError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ExtractionFailedError";
  }
}

const TEXT_MIME_TYPES = new Set([
  "application/json",
  "application/ld+json",
  "application/xml",
  "application/yaml",
  "application/x-yaml",
  "application/toml",
  "application/javascript",
  "application/x-javascript",
  "application/typescript",
  "application/x-sh",
  "application/x-shellscript",
  "application/sql",
  "application/x-tex",
  "application/x-ndjson",
  "application/rtf",
  "image/svg+xml",
]);
const TEXT_EXTENSIONS = new Set(
  (
    "txt text md markdown rst adoc org csv tsv json jsonl ndjson xml yaml yml toml ini cfg conf properties env log tex bib " +
    "js mjs cjs jsx ts tsx mts cts vue svelte css scss sass less py rb go rs java kt kts scala groovy c h cc cpp cxx hpp hh cs " +
    "fs php pl pm r lua swift m mm dart sh bash zsh fish ps1 bat cmd sql graphql gql proto dockerfile makefile mk gradle " +
    "tf hcl nix ex exs erl hs elm clj cljs lisp el vim diff patch srt vtt ics vcf svg"
  ).split(" "),
);
const HTML_EXTENSIONS = new Set(["html", "htm", "xhtml"]);
const OFFICE_EXTENSIONS = new Set(["docx", "xlsx", "pptx", "odt", "ods", "odp"]);
const OFFICE_MIME_PREFIXES = ["application/vnd.openxmlformats-officedocument.", "application/vnd.oasis.opendocument."];

/** What kind of extraction a file gets, by MIME type and extension; null: name-only search. */
export function extractionKind(name: string, mimeType: string | null): ExtractionKind | null {
  const type = (mimeType ?? "").split(";")[0].trim().toLowerCase();
  const dot = name.lastIndexOf(".");
  const extension = dot >= 0 ? name.slice(dot + 1).toLowerCase() : name.toLowerCase();
  if (type === "application/pdf" || extension === "pdf") return "pdf";
  if (OFFICE_EXTENSIONS.has(extension)) return "office";
  if (
    OFFICE_MIME_PREFIXES.some((prefix) => type.startsWith(prefix)) &&
    /(document|sheet|presentation)/.test(type) &&
    !type.includes("template")
  )
    return "office";
  if (type === "text/html" || type === "application/xhtml+xml" || HTML_EXTENSIONS.has(extension)) return "html";
  if (
    type.startsWith("text/") ||
    TEXT_MIME_TYPES.has(type) ||
    type.endsWith("+json") ||
    type.endsWith("+xml") ||
    TEXT_EXTENSIONS.has(extension)
  )
    return "text";
  return null;
}

export async function extractText(source: ExtractionSource, kind: ExtractionKind | null, limits: ExtractionLimits): Promise<Extraction> {
  if (kind === null) return { outcome: "none", reason: "unsupported" };
  if (source.size === 0) return { outcome: "none", reason: "empty" };
  switch (kind) {
    case "text":
    case "html": {
      const stream = await source.read({
        start: 0,
        end: Math.min(source.size, limits.maxBytes) - 1,
      });
      const decoded = await decodeText(stream, limits.maxBytes);
      if (decoded === null) return { outcome: "none", reason: "binary" };
      return finish(kind === "html" ? htmlToText(decoded.text) : decoded.text, limits, decoded.truncated);
    }
    case "pdf":
      return extractPdf(source, limits);
    case "office":
      return extractOffice(source, limits);
  }
}

/** Plain, searchable text: whitespace runs collapsed, and no NUL or snippet marker characters. */
function finish(raw: string, limits: ExtractionLimits, truncatedInput: boolean): Extraction {
  // U+E000/U+E001 mark matches in snippets (search/types.ts); U+FFFD is what undecodable bytes became.
  const text = raw
    .replace(/[\u0000\uE000\uE001]/g, "")
    .replace(/\s+/g, " ")
    .trim();
  if (text === "") return { outcome: "none", reason: "empty" };
  const kept = truncateUtf8(text, limits.maxTextBytes);
  return {
    outcome: "text",
    text: kept,
    truncated: truncatedInput || kept.length < text.length,
  };
}

/** The longest prefix of `text` within `maxBytes` of UTF-8, never splitting a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (text.length * 3 <= maxBytes) return text;
  const buffer = new Uint8Array(maxBytes);
  const { read } = new TextEncoder().encodeInto(text, buffer);
  return text.slice(0, read);
}

/** Bytes at the start that decide "binary": a NUL in them means it is not text (unless UTF-16). */
const SNIFF_BYTES = 8192;

/**
 * Decodes a stream of text: UTF-16 when it starts with a byte-order mark, else UTF-8 with
 * replacement characters for invalid bytes. Null when the start looks binary.
 */
async function decodeText(stream: Readable, maxBytes: number): Promise<{ text: string; truncated: boolean } | null> {
  let decoder: TextDecoder | null = null;
  let pending = Buffer.alloc(0);
  let total = 0;
  let text = "";
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      total += chunk.length;
      const piece = total > maxBytes ? chunk.subarray(0, chunk.length - (total - maxBytes)) : chunk;
      if (!decoder) {
        pending = Buffer.concat([pending, piece]);
        if (pending.length < SNIFF_BYTES && total < maxBytes) continue;
        decoder = chooseDecoder(pending);
        if (!decoder) return null;
        text += decoder.decode(pending, { stream: true });
      } else {
        text += decoder.decode(piece, { stream: true });
      }
      if (total >= maxBytes) break;
    }
    if (!decoder) {
      decoder = chooseDecoder(pending);
      if (!decoder) return null;
      text += decoder.decode(pending, { stream: true });
    }
    return { text: text + decoder.decode(), truncated: total >= maxBytes };
  } finally {
    stream.destroy();
  }
}

function chooseDecoder(start: Buffer): TextDecoder | null {
  if (start[0] === 0xff && start[1] === 0xfe) return new TextDecoder("utf-16le");
  if (start[0] === 0xfe && start[1] === 0xff) return new TextDecoder("utf-16be");
  if (start.subarray(0, SNIFF_BYTES).includes(0)) return null;
  return new TextDecoder("utf-8");
}

const ENTITIES: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: " ",
};

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, name: string) => {
    if (name[0] === "#") {
      const code = name[1] === "x" || name[1] === "X" ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      return Number.isInteger(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : " ";
    }
    return ENTITIES[name.toLowerCase()] ?? whole;
  });
}

/** The visible text of an HTML page: no scripts, styles, comments or tags. */
export function htmlToText(html: string): string {
  const withoutCode = html
    .replace(/<!--[\s\S]*?(-->|$)/g, " ")
    .replace(/<(script|style|template|noscript)\b[\s\S]*?(<\/\1\s*>|$)/gi, " ")
    .replace(/<[^>]*(>|$)/g, " ");
  return decodeEntities(withoutCode);
}

/** Text of an OOXML/ODF part: tags that end a paragraph, cell or line become spaces, others vanish (runs join). */
function xmlPartToText(xml: string): string {
  const spaced = xml
    .replace(/<\/(w:p|a:p|text:p|text:h|si|table:table-cell|w:tc)>/g, " ")
    .replace(/<(w:tab|w:br|a:br|text:s|text:tab|text:line-break)\b[^>]*\/?>/g, " ")
    .replace(/<[^>]*>/g, "");
  return decodeEntities(spaced);
}

async function extractPdf(source: ExtractionSource, limits: ExtractionLimits): Promise<Extraction> {
  const input = await source.read({
    start: 0,
    end: Math.min(source.size, limits.maxBytes) - 1,
  });
  // -q: no warnings on stderr; "-" "-": the PDF on stdin, the text on stdout.
  const child = spawn(limits.pdftotext.command, ["-q", "-enc", "UTF-8", "-", "-"], { stdio: ["pipe", "pipe", "ignore"] });
  const chunks: Buffer[] = [];
  let kept = 0;
  let truncated = false;
  const result = new Promise<Extraction>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new ExtractionFailedError(`pdftotext did not finish within ${limits.pdftotext.timeoutMs} ms`));
    }, limits.pdftotext.timeoutMs);
    child.once("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (error.code === "ENOENT") resolve({ outcome: "unavailable" });
      else reject(new ExtractionFailedError(`pdftotext could not run: ${error.message}`, { cause: error }));
    });
    child.stdout.on("data", (chunk: Buffer) => {
      if (truncated) return;
      // A few bytes over the limit leave room to cut at a whole character later.
      const room = limits.maxTextBytes + 4 - kept;
      chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
      kept += Math.min(chunk.length, room);
      if (kept >= limits.maxTextBytes + 4) {
        truncated = true;
        child.kill("SIGKILL");
      }
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      if (code !== 0 && !truncated) {
        reject(new ExtractionFailedError(`pdftotext could not read the PDF (exit code ${code})`));
        return;
      }
      resolve(finish(Buffer.concat(chunks).toString("utf8"), limits, truncated || source.size > limits.maxBytes));
    });
  });
  // pdftotext may exit (or be killed) before reading everything: that is not an error here.
  child.stdin.on("error", () => {});
  input.on("error", () => child.kill("SIGKILL"));
  input.pipe(child.stdin);
  try {
    return await result;
  } finally {
    input.destroy();
  }
}

/** Parts holding the text of each format; the rest (styles, media, settings) is skipped. */
const OFFICE_TEXT_PART =
  /^(word\/(document|header\d*|footer\d*|footnotes|endnotes|comments)\.xml|xl\/sharedStrings\.xml|ppt\/(slides\/slide|notesSlides\/notesSlide)\d+\.xml|content\.xml)$/;

/** OOXML and ODF files are ZIPs: their text parts are read one by one through ranged reads. */
async function extractOffice(source: ExtractionSource, limits: ExtractionLimits): Promise<Extraction> {
  let budget = limits.maxBytes;
  const reader = new StoreReader(source, (bytes) => {
    budget -= bytes;
  });
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.fromRandomAccessReaderPromise(reader, source.size, {
      lazyEntries: true,
      autoClose: false,
    });
  } catch (error) {
    if (error instanceof StorageReadError) throw error.cause;
    // Not a readable ZIP: nothing to index but the name.
    return { outcome: "none", reason: "binary" };
  }
  const texts: string[] = [];
  let textBytes = 0;
  let truncated = false;
  try {
    const parts: yauzl.Entry[] = [];
    for await (const entry of zip.eachEntry()) if (OFFICE_TEXT_PART.test(entry.fileName)) parts.push(entry);
    parts.sort((a, b) => a.fileName.localeCompare(b.fileName, "en", { numeric: true }));
    for (const entry of parts) {
      if (budget <= 0 || textBytes >= limits.maxTextBytes) {
        truncated = true;
        break;
      }
      if (entry.isEncrypted()) continue;
      const stream = await zip.openReadStreamPromise(entry);
      // Decompressed bytes count against the budget too: a small ZIP may inflate to gigabytes.
      const xml = await readUtf8(stream, budget);
      budget -= xml.bytes;
      if (xml.truncated) truncated = true;
      const text = xmlPartToText(xml.text);
      texts.push(text);
      textBytes += Buffer.byteLength(text);
    }
  } catch (error) {
    // Storage trouble is retried later; a damaged document is not.
    if (error instanceof StorageReadError) throw error.cause;
    throw new ExtractionFailedError(`could not read the document: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  } finally {
    zip.close();
  }
  return finish(texts.join(" "), limits, truncated);
}

async function readUtf8(stream: Readable, maxBytes: number): Promise<{ text: string; bytes: number; truncated: boolean }> {
  const decoder = new TextDecoder("utf-8");
  let text = "";
  let bytes = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const piece = bytes + chunk.length > maxBytes ? chunk.subarray(0, maxBytes - bytes) : chunk;
      bytes += piece.length;
      text += decoder.decode(piece, { stream: true });
      if (bytes >= maxBytes) return { text: text + decoder.decode(), bytes, truncated: true };
    }
    return { text: text + decoder.decode(), bytes, truncated: false };
  } finally {
    stream.destroy();
  }
}

/** Reading the object from the store failed (as opposed to decoding what it holds). */
class StorageReadError extends Error {
  constructor(cause: unknown) {
    super("could not read the object from storage", { cause });
  }
}

/** yauzl's random access over the store's ranged reads (each range one request to the store). */
class StoreReader extends yauzl.RandomAccessReader {
  constructor(
    private readonly source: ExtractionSource,
    private readonly onRead: (bytes: number) => void,
  ) {
    super();
  }

  _readStreamForRange(start: number, end: number): Readable {
    const out = new PassThrough();
    if (end <= start) {
      out.end();
      return out;
    }
    this.onRead(end - start);
    this.source.read({ start, end: end - 1 }).then(
      (stream) => {
        stream.once("error", (error) => out.destroy(new StorageReadError(error)));
        stream.pipe(out);
      },
      (error: unknown) => out.destroy(new StorageReadError(error)),
    );
    return out;
  }
}
