import fs from "node:fs";
import path from "node:path";
import { expect, it } from "vitest";

/**
 * V8 keeps every module's source for the life of the process, as one byte per character when all
 * its characters are Latin-1 and as two otherwise. The server build is about 2 MB: one “…” in it
 * doubles what it holds. vite.config.ts emits non-ASCII characters as escapes (esbuild's
 * `charset: "ascii"`), except in regular expression literals, which must spell them as \u escapes.
 */
const REPO = path.resolve(import.meta.dirname, "..");

it("the server build's JavaScript is Latin-1 only, so V8 keeps its source at one byte per character", () => {
  const assets = path.join(REPO, "build/server/assets");
  if (!fs.existsSync(assets)) throw new Error("No production build: run `npm run build` first.");
  const chunks = fs.readdirSync(assets).filter((name) => name.endsWith(".js"));
  expect(chunks.length).toBeGreaterThan(0);
  const wide: string[] = [];
  for (const name of chunks) {
    const lines = fs.readFileSync(path.join(assets, name), "utf8").split("\n");
    lines.forEach((line, index) => {
      if (/[^\u0000-\u00ff]/.test(line)) wide.push(`${name}:${index + 1}: ${line.trim().slice(0, 160)}`);
    });
  }
  expect(wide).toEqual([]);
});
