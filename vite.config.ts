import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { vitePlugin as remix } from "@remix-run/dev";
import tailwindcss from "@tailwindcss/vite";
import { defineConfig, type Plugin } from "vite";

declare module "@remix-run/node" {
  interface Future {
    v3_singleFetch: true;
  }
}

/** The commit the build is made from, for the admin's system page: COFFER_COMMIT, else git's; empty when neither is known. */
function buildCommit(): string {
  const given = process.env.COFFER_COMMIT?.trim();
  if (given) return /^[\w.-]{1,40}$/.test(given) ? given : "";
  try {
    return execFileSync("git", ["rev-parse", "--short=12", "HEAD"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "";
  }
}

/** Where the client build's source maps go: outside build/client, so no one can download them. */
export const CLIENT_SOURCE_MAPS_DIR = path.resolve(import.meta.dirname, "build/client-sourcemaps");

/**
 * Moves the client build's source maps out of the served directory once they are written (they are
 * "hidden": no sourceMappingURL comment points at them). Only the e2e coverage report reads them
 * (scripts/coverage/e2e-report.mjs, docs/decisions/0029).
 */
function clientSourceMapsOutOfReach(): Plugin {
  let outDir = "";
  let ssr = false;
  return {
    name: "coffer:client-source-maps-out-of-reach",
    apply: "build",
    configResolved(config) {
      outDir = path.resolve(config.root, config.build.outDir);
      ssr = Boolean(config.build.ssr);
    },
    buildStart() {
      if (!ssr) fs.rmSync(CLIENT_SOURCE_MAPS_DIR, { recursive: true, force: true });
    },
    writeBundle() {
      if (ssr) return;
      for (const name of fs.readdirSync(outDir, { recursive: true, encoding: "utf8" })) {
        if (!name.endsWith(".map")) continue;
        const target = path.join(CLIENT_SOURCE_MAPS_DIR, name);
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.renameSync(path.join(outDir, name), target);
      }
    },
  };
}

export default defineConfig(({ isSsrBuild }) => ({
  // The server bundle's source map lets test coverage count the code the HTTP tests run through
  // the production build against app/ (docs/decisions/0027). build/server is never served. The
  // client's maps are "hidden" (no comment in the served JS) and moved out of build/client: the
  // e2e coverage report maps Chromium's coverage through them (docs/decisions/0029).
  build: { sourcemap: isSsrBuild ? true : "hidden" },
  define: { __COFFER_COMMIT__: JSON.stringify(buildCommit()) },
  resolve: { alias: { "~": path.resolve(import.meta.dirname, "app") } },
  // Server-only packages reachable from route modules; the client never loads them.
  optimizeDeps: { exclude: ["@prisma/adapter-pg", "@prisma/client", "@node-rs/argon2"] },
  server: { hmr: true },
  // Sources as ASCII (other characters as \u escapes): V8 keeps the server build's 1.9 MB source for
  // the life of the process, and a few hundred “…” and arrows made it two bytes per character.
  esbuild: { charset: "ascii" },
  plugins: [
    clientSourceMapsOutOfReach(),
    tailwindcss(),
    remix({
      ignoredRouteFiles: ["**/*.test.*", "**/*.css"],
      future: {
        v3_fetcherPersist: true,
        v3_relativeSplatPath: true,
        v3_throwAbortReason: true,
        v3_singleFetch: true,
        v3_lazyRouteDiscovery: true,
      },
    }),
  ],
}));
