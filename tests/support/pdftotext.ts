import { execFileSync } from "node:child_process";

/** Whether Debian's pdftotext (poppler-utils) is installed: the PDF tests need it. */
export const hasPdftotext = (() => {
  try {
    execFileSync("pdftotext", ["-v"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();
