/**
 * `npm run docs:config`: writes docs/configuration.md and .env.example from app/config-reference.ts,
 * the description of every variable in app/config.server.ts.
 */
import fs from "node:fs";
import path from "node:path";
import { CONFIG_DOC_PATH, ENV_EXAMPLE_PATH, renderConfigurationDoc, renderEnvExample } from "../app/config-docs";

const root = path.resolve(import.meta.dirname, "..");
for (const [file, content] of [
  [CONFIG_DOC_PATH, renderConfigurationDoc()],
  [ENV_EXAMPLE_PATH, renderEnvExample()],
] as const) {
  fs.writeFileSync(path.join(root, file), content);
  console.log(`wrote ${file}`);
}
