// Regenerates tests/support/api-schema.d.ts, the typed client's types, from the OpenAPI document
// (`npm run api:types`). tests/api-contract.http.test.ts fails when the committed file is stale.
import fs from "node:fs";
import path from "node:path";
import { apiTypesSource } from "./api-types";

const target = path.resolve(import.meta.dirname, "../tests/support/api-schema.d.ts");
fs.writeFileSync(target, await apiTypesSource());
console.log(`wrote ${path.relative(process.cwd(), target)}`);
