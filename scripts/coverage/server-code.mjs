// Server code, whose coverage vitest.config.ts enforces (issue 17): the same three globs as its
// threshold key, `app/**/*.server.ts`, `app/server/**` and `app/services/**`, for paths relative
// to the repository.
export const SERVER_CODE_GLOB = "{app/**/*.server.ts,app/server/**,app/services/**}";

export function isServerCode(file) {
  const posix = file.split("\\").join("/");
  if (!posix.startsWith("app/")) return false;
  return posix.endsWith(".server.ts") || posix.startsWith("app/server/") || posix.startsWith("app/services/");
}
