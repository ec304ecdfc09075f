// Adds the hits of one coverage of a file to another coverage of the same file whose structure
// may differ a little: the two come from different compilations (Vite's transform of the source,
// the production bundle through its source map), so an item is matched by where it starts: the
// same line, then the nearest column. An item with no counterpart is dropped, never added.

/** Items of an istanbul map grouped by start line: line → [{ id, column }]. */
function byStartLine(items, start) {
  const lines = new Map();
  for (const [id, item] of Object.entries(items)) {
    const { line, column } = start(item);
    if (!lines.has(line)) lines.set(line, []);
    lines.get(line).push({ id, column });
  }
  return lines;
}

function counterpart(lines, position, fits) {
  let best;
  for (const candidate of lines.get(position.line) ?? []) {
    if (!fits(candidate.id)) continue;
    const distance = Math.abs(candidate.column - position.column);
    if (best === undefined || distance < best.distance) best = { id: candidate.id, distance };
  }
  return best?.id;
}

const statementStart = (statement) => statement.start;
const functionStart = (fn) => (fn.decl ?? fn.loc).start;
const branchStart = (branch) => (branch.loc ?? branch.locations[0]).start;

/**
 * Adds `source`'s statement, function and branch hits to `target` (istanbul FileCoverage objects
 * of the same file). `target` keeps its own items: only their counts change.
 */
export function foldHits(target, source) {
  const into = target.data;
  const from = source.data;

  const statements = byStartLine(into.statementMap, statementStart);
  for (const [id, statement] of Object.entries(from.statementMap)) {
    const match = counterpart(statements, statementStart(statement), () => true);
    if (match !== undefined) into.s[match] += from.s[id];
  }

  const functions = byStartLine(into.fnMap, functionStart);
  for (const [id, fn] of Object.entries(from.fnMap)) {
    const match = counterpart(functions, functionStart(fn), () => true);
    if (match !== undefined) into.f[match] += from.f[id];
  }

  const branches = byStartLine(into.branchMap, branchStart);
  for (const [id, branch] of Object.entries(from.branchMap)) {
    const arms = from.b[id];
    const match = counterpart(branches, branchStart(branch), (candidate) => into.b[candidate].length === arms.length);
    if (match !== undefined) into.b[match] = into.b[match].map((count, arm) => count + arms[arm]);
  }
}
