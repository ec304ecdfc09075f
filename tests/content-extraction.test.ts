import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import yazl from "yazl";
import {
  ExtractionFailedError,
  extractionKind,
  extractText,
  htmlToText,
  truncateUtf8,
  type ExtractionLimits,
  type ExtractionSource,
} from "~/domain/search/content-extraction.server";
import { hasPdftotext } from "./support/pdftotext";

const limits: ExtractionLimits = { maxBytes: 10 * 2 ** 20, maxTextBytes: 2 ** 20, pdftotext: { command: "pdftotext", timeoutMs: 20_000 } };
if (!hasPdftotext) console.log("pdftotext is missing (Debian package poppler-utils): the PDF extraction tests did not run");

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-extract-"));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** A stored object in memory; counts the bytes read, as the store's ranged reads would send them. */
function source(bytes: Buffer | string) {
  const buffer = typeof bytes === "string" ? Buffer.from(bytes) : bytes;
  const stats = { bytesRead: 0, reads: 0 };
  const src: ExtractionSource & { stats: typeof stats } = {
    size: buffer.length,
    stats,
    async read(range) {
      const slice = range ? buffer.subarray(range.start, range.end + 1) : buffer;
      stats.reads++;
      // In small chunks, as a network stream would arrive; counted as the reader takes them.
      const chunks = function* () {
        for (let i = 0; i < slice.length; i += 4096) {
          const chunk = slice.subarray(i, i + 4096);
          stats.bytesRead += chunk.length;
          yield chunk;
        }
      };
      return Readable.from(chunks(), { objectMode: false });
    },
  };
  return src;
}

async function textOf(bytes: Buffer | string, kind: Parameters<typeof extractText>[1], options: Partial<ExtractionLimits> = {}) {
  const result = await extractText(source(bytes), kind, { ...limits, ...options });
  if (result.outcome !== "text") throw new Error(`expected text, got ${JSON.stringify(result)}`);
  return result;
}

/** A minimal, valid one-page PDF (correct xref offsets) showing `lines` in Helvetica. */
function makePdf(lines: string[]): Buffer {
  const escapePdfText = (text: string) => text.replace(/[\\()]/g, (c) => `\\${c}`);
  const stream = `BT /F1 12 Tf 72 720 Td 14 TL ${lines.map((line) => `(${escapePdfText(line)}) '`).join(" ")} ET`;
  const objects = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
    `<< /Length ${Buffer.byteLength(stream)} >>\nstream\n${stream}\nendstream`,
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
  ];
  let pdf = "%PDF-1.4\n";
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(Buffer.byteLength(pdf));
    pdf += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = Buffer.byteLength(pdf);
  pdf += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, "0")} 00000 n \n`).join("")}`;
  pdf += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(pdf, "latin1");
}

function makeZip(entries: Record<string, string | Buffer>, compress = true): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const [name, content] of Object.entries(entries))
    zip.addBuffer(Buffer.isBuffer(content) ? content : Buffer.from(content), name, { compress });
  zip.end();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    zip.outputStream.on("data", (chunk: Buffer) => chunks.push(chunk));
    zip.outputStream.on("end", () => resolve(Buffer.concat(chunks)));
    zip.outputStream.on("error", reject);
  });
}

describe("extractionKind", () => {
  it.each([
    ["notes.txt", "text/plain", "text"],
    ["README.md", "application/octet-stream", "text"],
    ["data.csv", "text/csv", "text"],
    ["config.json", "application/json", "text"],
    ["feed.xml", "application/xml", "text"],
    ["compose.yaml", null, "text"],
    ["main.rs", "application/octet-stream", "text"],
    ["app.ts", "video/mp2t", "text"],
    ["Dockerfile", null, "text"],
    ["page.html", "text/html", "html"],
    ["page.bin", "application/xhtml+xml", "html"],
    ["report.pdf", "application/pdf", "pdf"],
    ["scan", "application/pdf", "pdf"],
    ["letter.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "office"],
    ["sheet.xlsx", null, "office"],
    ["deck.pptx", null, "office"],
    ["letter.odt", null, "office"],
    ["sheet.ods", null, "office"],
    ["deck.odp", null, "office"],
    ["photo.jpg", "image/jpeg", null],
    ["archive.zip", "application/zip", null],
    ["movie.mp4", "video/mp4", null],
    ["no-extension", "application/octet-stream", null],
  ])("%s (%s) → %s", (name, mime, kind) => {
    expect(extractionKind(name, mime)).toBe(kind);
  });
});

describe("text", () => {
  it("reads UTF-8 text, collapsing whitespace", async () => {
    const result = await textOf("Grüße aus Köln\n\n\tmit   Leerzeichen 🎉\r\n", "text");
    expect(result).toEqual({ outcome: "text", text: "Grüße aus Köln mit Leerzeichen 🎉", truncated: false });
  });

  it("replaces invalid UTF-8 with U+FFFD instead of failing", async () => {
    const bytes = Buffer.concat([Buffer.from("before "), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from(" after")]);
    expect((await textOf(bytes, "text")).text).toBe("before \uFFFD(\uFFFD after");
  });

  it("decodes UTF-16 with a byte-order mark, little and big endian", async () => {
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from("Hallo Wörld ✓", "utf16le")]);
    expect((await textOf(le, "text")).text).toBe("Hallo Wörld ✓");
    const be = Buffer.from(le.subarray(2)).swap16();
    expect((await textOf(Buffer.concat([Buffer.from([0xfe, 0xff]), be]), "text")).text).toBe("Hallo Wörld ✓");
  });

  it("skips binary content (NUL bytes) even with a text name", async () => {
    const bytes = Buffer.concat([Buffer.from("MZ"), Buffer.alloc(100), Buffer.from("text after")]);
    expect(await extractText(source(bytes), "text", limits)).toEqual({ outcome: "none", reason: "binary" });
    // UTF-16 without a BOM looks binary too: indexed by name only.
    expect(await extractText(source(Buffer.from("plain", "utf16le")), "text", limits)).toEqual({ outcome: "none", reason: "binary" });
  });

  it("says there is nothing for empty and blank files and unsupported kinds", async () => {
    expect(await extractText(source(""), "text", limits)).toEqual({ outcome: "none", reason: "empty" });
    expect(await extractText(source(" \n\t "), "text", limits)).toEqual({ outcome: "none", reason: "empty" });
    expect(await extractText(source("whatever"), null, limits)).toEqual({ outcome: "none", reason: "unsupported" });
  });

  it("removes the private-use characters that mark matches in snippets", async () => {
    expect((await textOf("a\uE000b\uE001c", "text")).text).toBe("abc");
  });

  it("reads at most maxBytes of the object", async () => {
    const src = source("word ".repeat(100_000));
    const result = await extractText(src, "text", { ...limits, maxBytes: 10_000 });
    expect(src.stats.bytesRead).toBeLessThanOrEqual(10_000);
    expect(result).toMatchObject({ outcome: "text", truncated: true });
    if (result.outcome === "text") expect(result.text.length).toBeLessThanOrEqual(10_000);
  });

  it("keeps at most maxTextBytes of UTF-8 text, never splitting a character", async () => {
    const result = await textOf("€".repeat(1000), "text", { maxTextBytes: 1000 });
    expect(result.truncated).toBe(true);
    expect(Buffer.byteLength(result.text)).toBeLessThanOrEqual(1000);
    expect(result.text).toBe("€".repeat(333));
    expect(truncateUtf8("a🎉b", 4)).toBe("a");
    expect(truncateUtf8("a🎉b", 5)).toBe("a🎉");
  });
});

describe("HTML", () => {
  it("keeps the visible text: no tags, scripts, styles or comments; entities decoded", async () => {
    const html = `<!doctype html><html><head><title>Menu</title><style>body { color: red }</style>
      <script>var secret = "not text";</script></head>
      <body><!-- hidden comment --><h1>Caf&eacute; &amp; Bar</h1><p>Fish &lt;3 chips&#33; &#x2713;</p></body></html>`;
    const { text } = await textOf(html, "html");
    expect(text).toContain("Menu");
    expect(text).toContain("Fish <3 chips! ✓");
    expect(text).toContain("& Bar");
    for (const gone of ["color", "secret", "hidden comment", "<h1>", "<p>"]) expect(text).not.toContain(gone);
    expect(htmlToText("<p>unclosed <b").trim()).toBe("unclosed");
  });
});

describe.skipIf(!hasPdftotext)("PDF (pdftotext)", () => {
  it("extracts the text of a real PDF fed through stdin", async () => {
    const { text } = await textOf(makePdf(["Quarterly revenue grew by 12 percent", "Signed by the treasurer"]), "pdf");
    expect(text).toContain("Quarterly revenue grew by 12 percent");
    expect(text).toContain("Signed by the treasurer");
  });

  it("bounds its output to maxTextBytes", async () => {
    const lines = Array.from({ length: 40 }, (_, i) => `line ${i} of a long page of text`);
    const result = await textOf(makePdf(lines), "pdf", { maxTextBytes: 100 });
    expect(result.truncated).toBe(true);
    expect(Buffer.byteLength(result.text)).toBeLessThanOrEqual(100);
    expect(result.text.startsWith("line 0 of a long page")).toBe(true);
  });

  it("fails with ExtractionFailedError on a broken PDF", async () => {
    await expect(extractText(source("%PDF-1.4\nnot really a pdf"), "pdf", limits)).rejects.toBeInstanceOf(ExtractionFailedError);
  });
});

describe("PDF without a working pdftotext", () => {
  it("reports it as unavailable when pdftotext is not installed", async () => {
    const missing = { command: path.join(scratch, "no-such-pdftotext"), timeoutMs: 5_000 };
    expect(await extractText(source(makePdf(["x"])), "pdf", { ...limits, pdftotext: missing })).toEqual({ outcome: "unavailable" });
  });

  it("kills pdftotext when it takes longer than the timeout", async () => {
    // A stand-in for a pdftotext stuck on a hostile PDF: it never answers.
    const stuck = path.join(scratch, "stuck-pdftotext");
    fs.writeFileSync(stuck, "#!/bin/sh\nexec sleep 30\n", { mode: 0o755 });
    const started = Date.now();
    const error = await extractText(source(makePdf(["x"])), "pdf", { ...limits, pdftotext: { command: stuck, timeoutMs: 300 } }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ExtractionFailedError);
    expect((error as Error).message).toContain("did not finish within 300 ms");
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe("OOXML and ODF", () => {
  it("reads a .docx's paragraphs, joining runs split inside words", async () => {
    const docx = await makeZip({
      "[Content_Types].xml": "<Types/>",
      "word/styles.xml": "<w:styles><w:style>StyleNameNotText</w:style></w:styles>",
      "word/document.xml":
        '<?xml version="1.0"?><w:document><w:body><w:p><w:r><w:t>Hel</w:t></w:r><w:r><w:t>lo</w:t></w:r><w:r><w:tab/><w:t>world</w:t></w:r></w:p>' +
        "<w:p><w:r><w:t>Fish &amp; chips</w:t></w:r></w:p></w:body></w:document>",
      "word/footer1.xml": "<w:ftr><w:p><w:r><w:t>Page footer</w:t></w:r></w:p></w:ftr>",
      "word/media/image1.png": randomBytes(300_000),
    });
    const src = source(docx);
    const result = await extractText(src, "office", limits);
    expect(result).toMatchObject({ outcome: "text" });
    if (result.outcome !== "text") return;
    expect(result.text).toContain("Hello world");
    expect(result.text).toContain("Fish & chips");
    expect(result.text).toContain("Page footer");
    expect(result.text).not.toContain("StyleNameNotText");
    // Ranged reads: the end (central directory) and the text parts, not the whole image.
    expect(src.stats.bytesRead).toBeLessThan(100_000);
  });

  it("reads .xlsx shared strings and .pptx slides and notes in order", async () => {
    const xlsx = await makeZip({
      "xl/sharedStrings.xml": "<sst><si><t>Invoice</t></si><si><t>Total due</t></si></sst>",
      "xl/worksheets/sheet1.xml": "<worksheet><c><v>0</v></c></worksheet>",
    });
    expect((await textOf(xlsx, "office")).text).toBe("Invoice Total due");
    const pptx = await makeZip({
      "ppt/slides/slide10.xml": "<p:sld><a:p><a:r><a:t>Tenth slide</a:t></a:r></a:p></p:sld>",
      "ppt/slides/slide2.xml": "<p:sld><a:p><a:r><a:t>Second slide</a:t></a:r></a:p></p:sld>",
      "ppt/notesSlides/notesSlide1.xml": "<p:notes><a:p><a:r><a:t>Speaker notes</a:t></a:r></a:p></p:notes>",
    });
    const { text } = await textOf(pptx, "office");
    expect(text).toContain("Speaker notes");
    expect(text.indexOf("Second slide")).toBeLessThan(text.indexOf("Tenth slide"));
  });

  it("reads OpenDocument content.xml (odt, ods, odp)", async () => {
    const odt = await makeZip({
      mimetype: "application/vnd.oasis.opendocument.text",
      "content.xml":
        "<office:document-content><text:h>Title</text:h><text:p>First<text:s/>paragraph</text:p><table:table-cell>cell</table:table-cell></office:document-content>",
      "styles.xml": "<office:styles>NotText</office:styles>",
    });
    expect((await textOf(odt, "office")).text).toBe("Title First paragraph cell");
  });

  it("bounds decompressed bytes (zip bombs) by maxBytes and keeps at most maxTextBytes", async () => {
    const bomb = await makeZip({ "word/document.xml": `<w:p><w:t>${"a ".repeat(2_000_000)}</w:t></w:p>` });
    expect(bomb.length).toBeLessThan(100_000);
    const result = await textOf(bomb, "office", { maxBytes: 50_000, maxTextBytes: 10_000 });
    expect(result.truncated).toBe(true);
    expect(Buffer.byteLength(result.text)).toBeLessThanOrEqual(10_000);
  });

  it("fails with ExtractionFailedError on a damaged document, but passes storage failures on (to retry later)", async () => {
    const docx = await makeZip({ "word/document.xml": `<w:p><w:t>${"lorem ipsum dolor ".repeat(500)}</w:t></w:p>` });
    const damaged = Buffer.from(docx);
    damaged.fill(0xff, 60, 90);
    await expect(extractText(source(damaged), "office", limits)).rejects.toBeInstanceOf(ExtractionFailedError);

    const storageDown = new Error("connect ECONNREFUSED");
    const intact = source(docx);
    let reads = 0;
    const flaky: ExtractionSource = {
      size: docx.length,
      read: (range) => (++reads > 2 ? Promise.reject(storageDown) : intact.read(range)),
    };
    await expect(extractText(flaky, "office", limits)).rejects.toBe(storageDown);
  });

  it("treats a file that is not a ZIP, or has no text parts, as having no text", async () => {
    expect(await extractText(source("not a zip at all"), "office", limits)).toEqual({ outcome: "none", reason: "binary" });
    const empty = await makeZip({ "word/media/image1.png": Buffer.alloc(100, 1) });
    expect(await extractText(source(empty), "office", limits)).toEqual({ outcome: "none", reason: "empty" });
  });
});
