// How server.ts loads the production build (app/server/load-runtime.server.ts): the app's runtime
// from the build's entry module, and a clear message when there is no build or an unfit one.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadProductionApp } from "~/server/load-runtime.server";

const BUILD = path.resolve(import.meta.dirname, "../build");

describe("loadProductionApp", () => {
  it("loads the runtime and the production mode from `npm run build`'s output", async () => {
    const { runtime, mode } = await loadProductionApp(BUILD);
    expect(typeof runtime.createAppServer).toBe("function");
    expect(mode).toMatchObject({ kind: "production", clientDir: path.join(BUILD, "client") });
    expect(mode.kind === "production" && mode.build.routes.root).toBeDefined();
  });

  it("says to run the build when there is none", async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-no-build-"));
    await expect(loadProductionApp(empty)).rejects.toThrow(
      `There is no production build at ${path.join(empty, "server/index.js")}: run \`npm run build\` first.`,
    );
  });

  it("says to build again when the build does not export the runtime, and passes other errors on", async () => {
    const stale = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-stale-build-"));
    fs.mkdirSync(path.join(stale, "server"));
    fs.writeFileSync(path.join(stale, "server/index.js"), "export const entry = { module: {} };\n");
    await expect(loadProductionApp(stale)).rejects.toThrow(/does not export the app runtime/);

    const broken = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-broken-build-"));
    fs.mkdirSync(path.join(broken, "server"));
    fs.writeFileSync(path.join(broken, "server/index.js"), "export const = 1;\n");
    // A parse error, passed on as it is (Node's SyntaxError; under vitest, Vite's parse error).
    const error: unknown = await loadProductionApp(broken).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(Error);
    expect(String(error)).not.toMatch(/no production build|does not export the app runtime/);
  });
});
