import { describe, expect, it } from "vitest";
import { ValidationError } from "../errors";
import { cleanName, nameKey, numberedName } from "./names";

describe("names", () => {
  it("normalises to NFC and trims", () => {
    expect(cleanName("  Cafe\u0301.txt ")).toBe("Caf\u00e9.txt");
  });

  it.each(["", "   ", ".", "..", "a/b", "a\\b", "tab\there", "nul\u0000", "del\u007f", "x".repeat(256), "é".repeat(128)])(
    "refuses %j",
    (name) => {
      expect(() => cleanName(name)).toThrow(ValidationError);
    },
  );

  it("accepts names up to 255 bytes, dots inside and leading dots", () => {
    expect(cleanName("x".repeat(255))).toHaveLength(255);
    expect(cleanName(".env")).toBe(".env");
    expect(cleanName("a..b")).toBe("a..b");
    expect(cleanName("日本語のファイル.pdf")).toBe("日本語のファイル.pdf");
  });

  it("compares names case-insensitively and across normalisation forms", () => {
    expect(nameKey("R\u00e9sum\u00e9.PDF")).toBe(nameKey("Re\u0301sume\u0301.pdf"));
  });

  it("numbers duplicates before the extension", () => {
    expect(numberedName("report.pdf", 1)).toBe("report (1).pdf");
    expect(numberedName("archive.tar.gz", 2)).toBe("archive.tar (2).gz");
    expect(numberedName("README", 3)).toBe("README (3)");
    expect(numberedName(".env", 1)).toBe(".env (1)");
  });
});
