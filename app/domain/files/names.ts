import { ValidationError } from "../errors";

/** Most filesystems cap a name at 255 bytes; keep every name portable. */
export const MAX_NAME_BYTES = 255;

export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Characters that change how the text around them is shown without being seen themselves:
 * bidirectional marks, embeddings, overrides and isolates ("report\u202Etxt.exe" shows as
 * "reportexe.txt"), the zero-width space, word joiner and invisible operators, and the byte-order
 * mark. Zero-width (non-)joiners stay allowed: emoji sequences and several scripts need them.
 */
export const INVISIBLE_CHARACTERS = /[\u061c\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/;

/**
 * Validates a file or folder name and returns it in Unicode NFC, so that "é" typed as one
 * code point or as "e" + combining accent is the same name everywhere.
 */
export function cleanName(raw: string, what = "Name"): string {
  const name = raw.normalize("NFC").trim();
  if (name.length === 0) throw new ValidationError(`${what} cannot be empty.`, { name: `${what} cannot be empty.` });
  if (name === "." || name === "..") {
    throw new ValidationError(`${what} cannot be "." or "..".`, { name: `${what} cannot be "." or "..".` });
  }
  if (/[\\/]/.test(name)) {
    throw new ValidationError(`${what} cannot contain "/" or "\\".`, { name: `${what} cannot contain "/" or "\\".` });
  }
  if (CONTROL_CHARACTERS.test(name)) {
    throw new ValidationError(`${what} cannot contain control characters.`, { name: `${what} cannot contain control characters.` });
  }
  // Tested before trimming too, which would silently drop a leading byte-order mark.
  if (INVISIBLE_CHARACTERS.test(raw)) {
    const message = `${what} cannot contain invisible or direction-changing characters.`;
    throw new ValidationError(message, { name: message });
  }
  if (Buffer.byteLength(name, "utf8") > MAX_NAME_BYTES) {
    const message = `${what} is too long (at most ${MAX_NAME_BYTES} bytes).`;
    throw new ValidationError(message, { name: message });
  }
  return name;
}

/** The key that makes sibling names unique: NFC and case-folded, so "Report.pdf" and "report.PDF" collide. */
export function nameKey(name: string): string {
  return name.normalize("NFC").toLowerCase();
}

/** "report.pdf" → "report (1).pdf", "archive" → "archive (1)". */
export function numberedName(name: string, n: number): string {
  const dot = name.lastIndexOf(".");
  const hasExtension = dot > 0 && dot < name.length - 1;
  const base = hasExtension ? name.slice(0, dot) : name;
  const extension = hasExtension ? name.slice(dot) : "";
  return `${base} (${n})${extension}`;
}
