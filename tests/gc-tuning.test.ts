import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { HEAP_GROWING_PERCENT } from "../app/server/gc-tuning.server";

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, "..");
const MARKER = "coffer-gc-tuning-applied";

/**
 * Runs tuneGarbageCollector in a fresh Node process (the one running these tests, so
 * `scripts/test-on-node.sh` checks each version), then forces full collections with V8's
 * verbose GC trace on, which prints the heap growing factor each one used.
 */
async function tuneInChild(nodeArgs: string[] = []) {
  const script = [
    `import { tuneGarbageCollector } from "./app/server/gc-tuning.server.ts";`,
    `tuneGarbageCollector();`,
    `console.log(${JSON.stringify(MARKER)});`,
    `const keep = [];`,
    `for (let round = 0; round < 3; round++) { for (let i = 0; i < 1e5; i++) keep.push({ i }); gc(); }`,
  ].join("\n");
  const { stdout, stderr } = await run(
    process.execPath,
    [...nodeArgs, "--import", "tsx", "--expose-gc", "--trace-gc-verbose", "--input-type=module", "-e", script],
    { cwd: root, maxBuffer: 64 * 1024 * 1024 },
  );
  return { afterTuning: stdout.slice(stdout.indexOf(MARKER)), stderr };
}

/**
 * The growing factors the main heap's collections applied. V8 11 (Node 20) traces the
 * factor it computed and applies --heap-growing-percent afterwards, in the "Limit" line's
 * suffix; V8 13 (Node 24) applies it first and traces no suffix.
 */
function growingFactors(trace: string): number[] {
  const limitSuffixes = [...trace.matchAll(/\[HeapController\] Limit: .*\((\d+\.\d+)\)/g)];
  const matches = limitSuffixes.length ? limitSuffixes : [...trace.matchAll(/\[HeapController\] factor (\d+\.\d+)/g)];
  return matches.map((match) => Number(match[1]));
}

describe("garbage collector tuning", () => {
  it("uses a V8 flag this Node version knows", async () => {
    const { stdout } = await run(process.execPath, ["--v8-options"], { maxBuffer: 64 * 1024 * 1024 });
    expect(stdout).toMatch(/^\s*--heap-growing-percent\b/m);
  });

  it("makes every later full collection grow the heap by HEAP_GROWING_PERCENT, without a warning", async () => {
    const { afterTuning, stderr } = await tuneInChild();
    // V8 reports an unknown or malformed flag on stderr only; Node would print warnings there too.
    expect(stderr).toBe("");
    const factors = growingFactors(afterTuning);
    expect(factors.length).toBeGreaterThan(0);
    expect(new Set(factors)).toEqual(new Set([1 + HEAP_GROWING_PERCENT / 100]));
  });

  it("keeps the setting the process was started with", async () => {
    const { afterTuning, stderr } = await tuneInChild(["--heap-growing-percent=50"]);
    expect(stderr).toBe("");
    expect(new Set(growingFactors(afterTuning))).toEqual(new Set([1.5]));
  });
});
