import { execFileSync } from "node:child_process";
import path from "node:path";
import { vitePlugin as remix } from "@remix-run/dev";
import tailwindcss from "@tailwindcss/vite";
import { defineConfig } from "vite";

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

export default defineConfig(({ isSsrBuild }) => ({
  // The server bundle's source map lets test coverage count the code the HTTP tests run through
  // the production build against app/ (docs/decisions/0027). build/server is never served.
  build: { sourcemap: isSsrBuild },
  define: { __COFFER_COMMIT__: JSON.stringify(buildCommit()) },
  resolve: { alias: { "~": path.resolve(import.meta.dirname, "app") } },
  // Server-only packages reachable from route modules; the client never loads them.
  optimizeDeps: { exclude: ["@prisma/adapter-pg", "@prisma/client", "@node-rs/argon2"] },
  server: { hmr: true },
  // Sources as ASCII (other characters as \u escapes): V8 keeps the server build's 1.9 MB source for
  // the life of the process, and a few hundred “…” and arrows made it two bytes per character.
  esbuild: { charset: "ascii" },
  plugins: [
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
