import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

/**
 * The kit's rule (docs/ui-kit.md#rules) as a lint: pages and components style themselves with the
 * kit's components and semantic tokens, never with the kit's internal classes (`btn-*`, `card`) or
 * Tailwind's palette (`text-slate-600`, `bg-white`). Biome has no plugin API for this, so it is a
 * test of the fast lane, which `npm run validate` runs. Only app/components/ui/ may name them.
 */

const PALETTE =
  "(?:slate|gray|zinc|neutral|stone|red|orange|amber|yellow|lime|green|emerald|teal|cyan|sky|blue|indigo|violet|purple|fuchsia|pink|rose)-\\d{2,3}|white|black";
const UTILITY =
  "bg|text|border(?:-[trblxyse])?|divide|ring|ring-offset|outline|fill|stroke|from|via|to|decoration|placeholder|accent|caret|shadow";
/** One class: optional variants (`hover:`, `dark:`, `max-sm:`), the utility, a palette colour, an optional opacity. */
const PALETTE_CLASS = new RegExp(`^!?(?:[a-z0-9\\[\\]@&*>_=.-]+:)*-?(?:${UTILITY})-(?:${PALETTE})(?:/\\d+)?$`);
const KIT_INTERNAL = /^!?(?:[a-z0-9[\]@&*>_=.-]+:)*(?:btn-[a-z-]+|card)$/;
/** A string literal that is a class list: lowercase class-like words only (not a sentence). */
const CLASS_WORD = /^[!a-z0-9:_\-/[\]().%#&>*,=@]+$/;

interface KitViolation {
  file: string;
  line: number;
  className: string;
}

/** The palette and kit-internal classes named in a source file's string literals. */
function kitViolations(file: string, source: string): KitViolation[] {
  const found: KitViolation[] = [];
  const literal = /"([^"\n]*)"|'([^'\n]*)'|`([^`]*)`/g;
  for (const match of source.matchAll(literal)) {
    const text = (match[1] ?? match[2] ?? match[3] ?? "").replace(/\$\{[^}]*\}/g, " ");
    const words = text.split(/\s+/).filter(Boolean);
    if (words.length === 0 || !words.every((word) => CLASS_WORD.test(word))) continue;
    for (const word of words) {
      if (PALETTE_CLASS.test(word) || KIT_INTERNAL.test(word)) {
        const line = source.slice(0, match.index).split("\n").length;
        found.push({ file, line, className: word });
      }
    }
  }
  return found;
}

const ROOT = path.resolve(import.meta.dirname, "../../..");
const KIT = path.join("app", "components", "ui");

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = path.join(dir, entry.name);
    if (entry.isDirectory()) return relative === KIT ? [] : sourceFiles(relative);
    return /\.tsx?$/.test(entry.name) && !/\.test\.tsx?$/.test(entry.name) ? [relative] : [];
  });
}

describe("pages use the kit, not its internal classes or the palette", () => {
  it("finds each kind of forbidden class (the rule can fail)", () => {
    const source = [
      `<div className="card p-4">`,
      `<button className="btn-primary w-full">`,
      "<a className={`btn-sm ${x} text-accent-text`}>",
      `cx("flex", on && "hover:bg-slate-100 dark:text-blue-300/80")`,
      `<p className="text-white bg-black border-t-red-200">`,
      `<svg className="fill-blue-700" />`,
    ].join("\n");
    expect(kitViolations("sample.tsx", source).map((v) => `${v.line}:${v.className}`)).toEqual([
      "1:card",
      "2:btn-primary",
      "3:btn-sm",
      "4:hover:bg-slate-100",
      "4:dark:text-blue-300/80",
      "5:text-white",
      "5:bg-black",
      "5:border-t-red-200",
      "6:fill-blue-700",
    ]);
  });

  it("leaves the tokens, the kit's components and prose alone", () => {
    const source = [
      `<Card padding="none" className="p-6 text-text-muted bg-surface-raised border-border">`,
      `<Button variant="primary" className={buttonClass("secondary", "sm")}>`,
      `<p>"Share the card with a friend" is prose, and so is 'a gray-500 day'.</p>`,
      `const kind = "card-number"; const tone = "text-danger bg-accent-soft text-folder";`,
      `import { Card } from "./ui/card";`,
    ].join("\n");
    expect(kitViolations("sample.tsx", source)).toEqual([]);
  });

  it("holds for every page and component outside app/components/ui", () => {
    const files = [...sourceFiles(path.join("app", "routes")), ...sourceFiles(path.join("app", "components"))];
    expect(files.length).toBeGreaterThan(50);
    const violations = files.flatMap((file) => kitViolations(file, readFileSync(path.join(ROOT, file), "utf8")));
    expect(violations.map((v) => `${v.file}:${v.line} ${v.className}`)).toEqual([]);
  });
});
