import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";

/**
 * Every relative link in README.md, CONTRIBUTING.md, SECURITY.md and docs/ (subfolders included) must lead to a file or folder of the
 * repository, and a link's #anchor to a heading of the Markdown file it points to.
 */
const root = path.resolve(import.meta.dirname, "..");

function markdownFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".md"))
    .map((entry) => path.join(entry.parentPath, entry.name));
}

/** The text outside fenced code blocks and inline code, where a link is a link. */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "").replace(/`[^`\n]*`/g, "");
}

function linkTargets(markdown: string): string[] {
  return [...prose(markdown).matchAll(/!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((match) => match[1]);
}

/** GitHub's anchor for a heading (github-slugger): lower case, punctuation dropped, spaces → "-". */
function slug(heading: string): string {
  const text = heading.replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1").replace(/<[^>]+>/g, "");
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, "")
    .replace(/ /g, "-");
}

function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const withoutCode = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "");
  for (const match of withoutCode.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = slug(match[1]);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  for (const match of markdown.matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) anchors.add(match[1]);
  return anchors;
}

/** "file.md: target (why)" for each link of `files` that leads nowhere. */
function brokenLinks(repoRoot: string, files: string[]): string[] {
  const problems: string[] = [];
  for (const file of files) {
    const markdown = fs.readFileSync(file, "utf8");
    for (const target of linkTargets(markdown)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: …
      const [pathPart, anchor] = target.split("#", 2);
      const resolved = pathPart === "" ? file : path.resolve(path.dirname(file), decodeURIComponent(pathPart));
      const where = `${path.relative(repoRoot, file)}: ${target}`;
      if (!resolved.startsWith(repoRoot + path.sep) && resolved !== repoRoot) {
        problems.push(`${where} (outside the repository)`);
      } else if (!fs.existsSync(resolved)) {
        problems.push(`${where} (no such file)`);
      } else if (anchor && resolved.endsWith(".md") && !anchorsOf(fs.readFileSync(resolved, "utf8")).has(anchor)) {
        problems.push(`${where} (no heading with this anchor)`);
      }
    }
  }
  return problems;
}

describe("documentation links", () => {
  const files = [
    path.join(root, "README.md"),
    path.join(root, "CONTRIBUTING.md"),
    path.join(root, "SECURITY.md"),
    ...markdownFiles(path.join(root, "docs")),
  ];

  it("checks the README, CONTRIBUTING.md, SECURITY.md and every file in docs/", () => {
    expect(files.length).toBeGreaterThan(10);
    // Subfolders too: the compliance documents live in docs/compliance/.
    expect(files).toContain(path.join(root, "docs", "compliance", "gdpr.md"));
    for (const file of files) expect(fs.existsSync(file), file).toBe(true);
  });

  it("every relative link resolves to a file, and every anchor to a heading", () => {
    expect(brokenLinks(root, files)).toEqual([]);
  });

  it("finds a missing file, a missing anchor and a link out of the repository", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-links-"));
    try {
      fs.mkdirSync(path.join(dir, "docs"));
      fs.writeFileSync(path.join(dir, "docs", "a.md"), "# A\n\n## Node.js versions\n\n## Node.js versions\n");
      const readme = path.join(dir, "README.md");
      fs.writeFileSync(
        readme,
        [
          "[ok](docs/a.md) [ok](docs/a.md#nodejs-versions) [ok](docs/a.md#nodejs-versions-1) [ok](docs/) [ok](#b)",
          "[web](https://example.com/x.md) `[code](nowhere.md)`",
          "```\n[fenced](nowhere.md)\n```",
          "[gone](docs/missing.md) ![img](docs/missing.png) [anchor](docs/a.md#nope) [out](../../etc/passwd)",
          "## B",
        ].join("\n\n"),
      );
      expect(brokenLinks(dir, [readme])).toEqual([
        "README.md: docs/missing.md (no such file)",
        "README.md: docs/missing.png (no such file)",
        "README.md: docs/a.md#nope (no heading with this anchor)",
        "README.md: ../../etc/passwd (outside the repository)",
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("makes anchors the way GitHub does", () => {
    expect(slug("`npm run bench:memory` — resting memory")).toBe("npm-run-benchmemory--resting-memory");
    expect(slug("An upload's path")).toBe("an-uploads-path");
    expect(slug("`S3_ENDPOINT`")).toBe("s3_endpoint");
    expect(slug("Lockout, deactivation and deletion")).toBe("lockout-deactivation-and-deletion");
  });
});
