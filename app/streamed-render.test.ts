import { createRequire } from "node:module";
import path from "node:path";
import { PassThrough } from "node:stream";
import { createElement } from "react";
import { describe, expect, it } from "vitest";

/**
 * React 18.3.1's Node renderer copies text into 2,048-byte views. When a multi-byte character did
 * not fit at the end of a view it sent the whole view, unused zero bytes included, so pages showed
 * NUL characters (patches/react-dom+18.3.1.patch). Every offset across the first view boundary is
 * rendered here, with 2-, 3- and 4-byte characters, and the decoded body must equal the text.
 */
const require = createRequire(import.meta.url);
const reactDom = path.dirname(require.resolve("react-dom/package.json"));
const builds = ["development", "production.min"].map((build) => ({
  build,
  renderToPipeableStream: (require(path.join(reactDom, `cjs/react-dom-server.node.${build}.js`)) as typeof import("react-dom/server"))
    .renderToPipeableStream,
}));

function render(renderToPipeableStream: (typeof builds)[number]["renderToPipeableStream"], texts: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const body = new PassThrough();
    const chunks: Buffer[] = [];
    body.on("data", (chunk: Buffer) => chunks.push(chunk));
    body.on("end", () => resolve(new TextDecoder("utf-8", { fatal: true }).decode(Buffer.concat(chunks))));
    const spans = texts.map((text, index) => createElement("span", { key: index }, text));
    const { pipe } = renderToPipeableStream(createElement("p", null, spans), {
      onAllReady: () => pipe(body),
      onShellError: reject,
    });
  });
}

describe.each(builds)("streamed render of multi-byte text ($build build)", ({ renderToPipeableStream }) => {
  for (const character of ["é", "’", "😀"]) {
    it(`keeps ${JSON.stringify(character)} whole at every offset across a view boundary`, async () => {
      // The fourth text starts at byte 1,848 of the first 2,048-byte view.
      for (let padding = 190; padding <= 205; padding++) {
        // Short text nodes go into the current view (a long one is encoded on its own).
        const texts = ["a".repeat(600), "a".repeat(600), "a".repeat(600), `${"a".repeat(padding)}${character}x`];
        const html = await render(renderToPipeableStream, texts);
        expect(html).not.toContain("\u0000");
        expect(html).toBe(`<p>${texts.map((text) => `<span>${text}</span>`).join("")}</p>`);
      }
    });
  }
});
