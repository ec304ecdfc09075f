import { AppError } from "~/domain/errors";

/** One condition of an If header list: a state token (lock token) or an entity tag, maybe negated. */
export type IfCondition = { not: boolean; token: string } | { not: boolean; etag: string };

/** A list of conditions that must all hold, for the request URL (resource null) or a tagged one. */
export interface IfList {
  resource: string | null;
  conditions: IfCondition[];
}

const MAX_IF_HEADER = 8 * 1024;

function malformed(): AppError {
  return new AppError(400, "The If header is malformed.");
}

/** Parses an RFC 4918 §10.4 If header; null when there is none. */
export function parseIfHeader(header: string | undefined): IfList[] | null {
  if (header === undefined) return null;
  if (header.length > MAX_IF_HEADER) throw malformed();
  const lists: IfList[] = [];
  let resource: string | null = null;
  let i = 0;
  const skip = () => {
    while (i < header.length && /\s/.test(header[i]!)) i++;
  };
  const until = (end: string) => {
    const close = header.indexOf(end, i);
    if (close === -1) throw malformed();
    const value = header.slice(i, close);
    i = close + 1;
    return value;
  };
  skip();
  while (i < header.length) {
    if (header[i] === "<") {
      i++;
      resource = until(">");
      skip();
      if (header[i] !== "(") throw malformed();
      continue;
    }
    if (header[i] !== "(") throw malformed();
    i++;
    const conditions: IfCondition[] = [];
    for (;;) {
      skip();
      if (header[i] === ")") {
        i++;
        break;
      }
      let not = false;
      if (/^not\b/i.test(header.slice(i, i + 4)) && header.slice(i, i + 3).toLowerCase() === "not") {
        not = true;
        i += 3;
        skip();
      }
      if (header[i] === "<") {
        i++;
        conditions.push({ not, token: until(">") });
      } else if (header[i] === "[") {
        i++;
        conditions.push({ not, etag: until("]") });
      } else {
        throw malformed();
      }
    }
    if (conditions.length === 0) throw malformed();
    lists.push({ resource, conditions });
    skip();
  }
  if (lists.length === 0) throw malformed();
  return lists;
}

/** Every lock token the header names: what the client submits to change locked resources. */
export function submittedTokens(lists: IfList[] | null): Set<string> {
  const tokens = new Set<string>();
  for (const list of lists ?? []) for (const condition of list.conditions) if ("token" in condition) tokens.add(condition.token);
  return tokens;
}
