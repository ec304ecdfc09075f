import { describe, expect, it } from "vitest";
import { similarityWords } from "./postgres.server";

describe("similarityWords (which query words may be misspelt)", () => {
  it("splits at spaces and punctuation, folds case and drops repeats", () => {
    expect(similarityWords("Quarterly-Report_2024.PDF report")).toEqual({ similar: ["quarterly", "report", "pdf"], exact: "2024" });
  });

  it("keeps short words, numbers and words without an ASCII letter as exact prefixes", () => {
    expect(similarityWords("ab 0050001 2021 日本語 résumé x1")).toEqual({ similar: ["résumé"], exact: "ab 0050001 2021 日本語 x1" });
    expect(similarityWords("%_! ")).toEqual({ similar: [], exact: "" });
  });

  it("keeps at most eight words to match by similarity", () => {
    expect(similarityWords("one two three four five six seven eight nine ten").similar).toHaveLength(8);
  });
});
