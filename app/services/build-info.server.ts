import { version } from "../../package.json";

// Set by vite.config.ts from git (or COFFER_COMMIT) when the build ran in a checkout.
declare const __COFFER_COMMIT__: string | undefined;

export interface BuildInfo {
  /** package.json's version. */
  version: string;
  /** The short git commit the build was made from; null when the build did not know it. */
  commit: string | null;
}

export function buildInfo(): BuildInfo {
  const commit = typeof __COFFER_COMMIT__ === "string" && __COFFER_COMMIT__ !== "" ? __COFFER_COMMIT__ : null;
  return { version, commit };
}
