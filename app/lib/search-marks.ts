/** A piece of a name or snippet; `match` marks the query's words. Plain text, never HTML. */
export interface MarkedPart {
  text: string;
  match: boolean;
}

/** The words of a search query, as the search splits them (spaces, punctuation, symbols). */
export function queryWords(query: string): string[] {
  return [
    ...new Set(
      fold(query)
        .split(/[\s\p{P}\p{S}]+/u)
        .filter(Boolean),
    ),
  ];
}

/** Lower case without accents, as the search compares names ("Résumé" → "resume"). */
function fold(text: string): string {
  return text.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase();
}

/**
 * `name` in parts, the places where a query word occurs (ignoring case and accents) marked. A name
 * found only by a misspelling has no marks. The parts are text for React to escape.
 */
export function markWords(name: string, query: string): MarkedPart[] {
  const words = queryWords(query);
  const chars = Array.from(name);
  // The folded name, and for each of its UTF-16 units the character of `name` it came from.
  let folded = "";
  const origin: number[] = [];
  chars.forEach((char, index) => {
    const piece = fold(char);
    folded += piece;
    for (let unit = 0; unit < piece.length; unit++) origin.push(index);
  });
  const marked = new Array<boolean>(chars.length).fill(false);
  for (const word of words) {
    for (let at = folded.indexOf(word); at !== -1; at = folded.indexOf(word, at + word.length)) {
      for (let unit = at; unit < at + word.length; unit++) marked[origin[unit]] = true;
    }
  }
  const parts: MarkedPart[] = [];
  chars.forEach((char, index) => {
    const last = parts.at(-1);
    if (last && last.match === marked[index]) last.text += char;
    else parts.push({ text: char, match: marked[index] });
  });
  return parts;
}
