// Writes the OpenAPI document of /api/v1 to a file (default: stdout), for the spectral lint and
// for generating the typed client: `tsx scripts/write-openapi.ts build/openapi.json`.
import fs from "node:fs";
import { openApiDocument } from "~/route-helpers/api/openapi.server";

const target = process.argv[2];
const text = `${JSON.stringify(openApiDocument(), null, 2)}\n`;
if (target) fs.writeFileSync(target, text);
else process.stdout.write(text);
