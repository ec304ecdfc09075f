#!/usr/bin/env node
// `npx coffer <command>`: the operator's command-line tool. It runs the TypeScript sources with
// tsx (a runtime dependency, as for `npm run db:migrate` and `keys:rotate`), with the app's
// tsconfig wherever it is started from, so the Docker image needs no separate build of it.
import { fileURLToPath } from "node:url";
import { register } from "tsx/esm/api";

register({ tsconfig: fileURLToPath(new URL("../tsconfig.json", import.meta.url)) });
const { main } = await import("../scripts/cli/coffer.ts");
const code = await main(process.argv.slice(2));
process.exitCode = code;
// A client library's keep-alive socket or timer must not keep a finished command waiting.
setTimeout(() => process.exit(code), 2000).unref();
