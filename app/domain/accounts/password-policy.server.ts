import commonPasswordsText from "./common-passwords.txt?raw";

/**
 * The password rules, applied wherever a password is chosen (registration, change, reset).
 * Length is what matters most (NIST SP 800-63B): no composition rules, but no well-known
 * passwords and nothing guessable from the account itself.
 */
export const PASSWORD_MIN_LENGTH = 12;
/** Long passphrases are welcome; the cap only bounds the hashing work per request. */
export const PASSWORD_MAX_LENGTH = 256;

export const PASSWORD_HINT = `At least ${PASSWORD_MIN_LENGTH} characters; not a common password and not containing your name or email.`;

// Parsed on first use. A plain module variable: the server loads the app once (server.ts takes it from the build).
let common: Set<string> | undefined;
function commonPasswords(): Set<string> {
  return (common ??= new Set(
    commonPasswordsText
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line.length > 0 && !line.startsWith("#")),
  ));
}

export interface PasswordOwner {
  name?: string | null;
  email?: string | null;
}

/** Pieces of the name and email someone could guess the password from (3+ characters). */
function personalWords(owner: PasswordOwner): string[] {
  const words = new Set<string>();
  const add = (value: string) => {
    if (value.length >= 3) words.add(value);
  };
  for (const part of (owner.name ?? "").toLowerCase().split(/[^\p{L}\p{N}]+/u)) add(part);
  const local = (owner.email ?? "").toLowerCase().split("@")[0] ?? "";
  add(local);
  for (const part of local.split(/[^\p{L}\p{N}]+/u)) add(part);
  return [...words];
}

/** Strips digits and symbols people append or prepend to a word ("Summer2024!" → "summer"). */
function core(password: string): string {
  return password.replace(/^[^\p{L}]+|[^\p{L}]+$/gu, "");
}

/** Why the password is refused, as a sentence for the form, or null when it is acceptable. */
export function checkPassword(password: string, owner: PasswordOwner = {}): string | null {
  if (password.length < PASSWORD_MIN_LENGTH) return `Use at least ${PASSWORD_MIN_LENGTH} characters.`;
  if (password.length > PASSWORD_MAX_LENGTH) return `Use at most ${PASSWORD_MAX_LENGTH} characters.`;
  const lower = password.toLowerCase();
  const common = commonPasswords();
  const stripped = core(lower);
  if (common.has(lower) || common.has(lower.replace(/\s+/g, "")) || (stripped.length >= 4 && common.has(stripped))) {
    return "This password is on a list of common or breached passwords. Choose one that is harder to guess, e.g. several random words.";
  }
  const personal = personalWords(owner).find((word) => lower.includes(word));
  if (personal) return "The password must not contain your name or email address.";
  return null;
}
