import { describe, expect, it } from "vitest";
import { markWords, queryWords } from "./search-marks";

const render = (parts: Array<{ text: string; match: boolean }>) => parts.map((p) => (p.match ? `[${p.text}]` : p.text)).join("");

describe("markWords", () => {
  it("marks each query word wherever it occurs, ignoring case", () => {
    expect(render(markWords("Quarterly-Report_2024.pdf", "report 2024"))).toBe("Quarterly-[Report]_[2024].pdf");
    expect(render(markWords("report report", "REP"))).toBe("[rep]ort [rep]ort");
  });

  it("ignores accents both ways and keeps the name's own characters", () => {
    expect(render(markWords("Résumé final.docx", "resume"))).toBe("[Résumé] final.docx");
    expect(render(markWords("resume.txt", "résumé"))).toBe("[resume].txt");
  });

  it("merges overlapping words and leaves a name without a match unmarked", () => {
    expect(render(markWords("notebook", "note book"))).toBe("[notebook]");
    expect(markWords("invoice.pdf", "invoce")).toEqual([{ text: "invoice.pdf", match: false }]);
  });

  it("keeps markup in a name as text", () => {
    expect(markWords("<img src=x onerror=alert(1)>.png", "img")).toEqual([
      { text: "<", match: false },
      { text: "img", match: true },
      { text: " src=x onerror=alert(1)>.png", match: false },
    ]);
  });

  it("handles non-Latin scripts and characters outside the BMP", () => {
    expect(render(markWords("日本語のファイル.txt", "日本"))).toBe("[日本]語のファイル.txt");
    expect(render(markWords("🎉 party.txt", "party"))).toBe("🎉 [party].txt");
  });

  it("splits the query at spaces and punctuation, dropping repeats", () => {
    expect(queryWords("  Tax-return, tax ")).toEqual(["tax", "return"]);
    expect(queryWords("")).toEqual([]);
  });
});
