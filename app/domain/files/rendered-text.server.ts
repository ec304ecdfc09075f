import hljs from "highlight.js/lib/common";
import { Marked, type Tokens } from "marked";

/**
 * Text previews rendered on the server into safe HTML: code highlighted with highlight.js
 * (class-based: `hljs-*` classes styled by tailwind.css with light and dark tokens, so the CSP
 * needs no inline styles), Markdown with marked and every raw HTML block or tag escaped
 * (decision 0034). Runs offline: the grammars are in the package.
 */

/** How a text preview is shown: as plain text, highlighted code, or rendered Markdown. */
export type TextFormat = "plain" | "code" | "markdown";

const MARKDOWN_EXTENSIONS = new Set(["md", "markdown", "mdown", "mkd"]);
/** Extensions highlight.js does not know as aliases, mapped to one of its grammars. */
const EXTRA_ALIASES: Record<string, string> = {
  mjs: "javascript",
  cjs: "javascript",
  mts: "typescript",
  cts: "typescript",
  jsonc: "json",
  yml: "yaml",
  h: "c",
  hpp: "cpp",
  tsx: "typescript",
  jsx: "javascript",
};
const TYPE_LANGUAGES: Record<string, string> = {
  "application/json": "json",
  "application/javascript": "javascript",
  "text/javascript": "javascript",
  "application/x-sh": "bash",
  "text/x-python": "python",
  "text/css": "css",
  "application/sql": "sql",
  "application/x-yaml": "yaml",
  "text/yaml": "yaml",
};

function extension(name: string): string {
  const dot = name.lastIndexOf(".");
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : "";
}

/** The format and highlight.js grammar for a text file, from its name, then its type. */
export function textFormat(file: { name: string; mimeType: string }): { format: TextFormat; language: string | null } {
  const ext = extension(file.name);
  const type = file.mimeType.split(";")[0]!.trim().toLowerCase();
  if (MARKDOWN_EXTENSIONS.has(ext) || type === "text/markdown") return { format: "markdown", language: null };
  const candidate = EXTRA_ALIASES[ext] ?? (ext || null) ?? null;
  const language = (candidate && hljs.getLanguage(candidate) ? candidate : null) ?? TYPE_LANGUAGES[type] ?? null;
  if (ext === "txt" || !language || !hljs.getLanguage(language)) return { format: "plain", language: null };
  return { format: "code", language };
}

/** Highlighted HTML of `text` (highlight.js escapes the text; only <span class="hljs-…"> is added). */
export function highlightCode(text: string, language: string): string {
  return hljs.highlight(text, { language, ignoreIllegals: true }).value;
}

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** A link target kept in rendered Markdown: web and mail addresses and in-page anchors only. */
export function safeHref(href: string): string | null {
  const trimmed = href.trim();
  if (trimmed.startsWith("#")) return trimmed;
  try {
    const url = new URL(trimmed);
    return ["http:", "https:", "mailto:"].includes(url.protocol) ? url.href : null;
  } catch {
    return null; // relative paths would point into this app; left as text
  }
}

const markdown = new Marked({
  gfm: true,
  async: false,
  renderer: {
    // Raw HTML, block or inline, is shown as the text it is, never as markup.
    html({ text }: Tokens.HTML | Tokens.Tag) {
      return escapeHtml(text);
    },
    link({ href, title, tokens }: Tokens.Link) {
      const label = this.parser.parseInline(tokens);
      const target = safeHref(href);
      if (!target) return label;
      const titleAttr = title ? ` title="${escapeHtml(title)}"` : "";
      return `<a href="${escapeHtml(target)}"${titleAttr} rel="nofollow noopener noreferrer">${label}</a>`;
    },
    // Images are not loaded (a remote one would tell its server who reads the file, and a local
    // path would request a page of this app): their text and address show instead.
    image({ href, text }: Tokens.Image) {
      const target = safeHref(href);
      const label = `Image: ${escapeHtml(text || "untitled")}`;
      return target && !target.startsWith("#")
        ? `<a href="${escapeHtml(target)}" class="md-image" rel="nofollow noopener noreferrer">${label}</a>`
        : `<span class="md-image">${label}</span>`;
    },
    code({ text, lang }: Tokens.Code) {
      const language = lang?.trim().split(/\s+/)[0]?.toLowerCase() ?? "";
      const body = language && hljs.getLanguage(language) ? highlightCode(text, language) : escapeHtml(text);
      return `<pre class="hljs"><code>${body}</code></pre>\n`;
    },
  },
});

const ALLOWED_TAGS = new Set(
  "a p br hr em strong del code pre span blockquote ul ol li h1 h2 h3 h4 h5 h6 table thead tbody tr th td input".split(" "),
);
const ALLOWED_ATTRIBUTES = new Set(["href", "title", "rel", "class", "start", "align", "checked", "disabled", "type"]);

/**
 * The check after rendering, whatever marked does in a later version: only the tags and
 * attributes above, and hrefs that safeHref keeps. False sends the text out as plain text.
 */
export function isSafeHtml(html: string): boolean {
  for (const tag of html.matchAll(/<\/?([a-zA-Z][a-zA-Z0-9]*)([^>]*)>/g)) {
    if (!ALLOWED_TAGS.has(tag[1]!.toLowerCase())) return false;
    for (const attribute of tag[2]!.matchAll(/\s*([^\s=/]+)(?:="([^"]*)")?/g)) {
      const name = attribute[1]!.toLowerCase();
      if (!ALLOWED_ATTRIBUTES.has(name)) return false;
      if (name === "href" && safeHref(attribute[2]!.replaceAll("&amp;", "&")) === null) return false;
      if (name === "type" && attribute[2] !== "checkbox") return false;
    }
  }
  return true;
}

/**
 * Safe HTML of a Markdown text: no raw HTML, no script or data links, no images loaded. Null
 * when the result fails the check above (then the text is shown as it is).
 */
export function renderMarkdown(text: string): string | null {
  const html = markdown.parse(text, { async: false }) as string;
  return isSafeHtml(html) ? html : null;
}
