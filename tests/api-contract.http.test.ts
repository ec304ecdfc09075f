import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiTypesSource } from "../scripts/api-types";
import { adminSuite } from "./api-contract/admin";
import { adminOpsSuite } from "./api-contract/admin-ops";
import { type ApiEnv, setUpApiEnv } from "./api-contract/env";
import { filesSuite } from "./api-contract/files";
import { searchSuite } from "./api-contract/search";
import { sharingSuite } from "./api-contract/sharing";
import { tokensSuite } from "./api-contract/tokens";
import { webhooksSuite } from "./api-contract/webhooks";
import { notificationPreferencesSuite } from "./api-contract/notification-preferences";

import { hostileSuite } from "./api-contract/hostile";
import { preconditionsSuite } from "./api-contract/preconditions";
import { uploadsSuite } from "./api-contract/uploads";
import type { OpenApiDocument } from "./support/api-client";

/**
 * The /api/v1 contract: every documented operation is exercised against the production build,
 * through the typed client generated from the document, and every response is validated against
 * the document the app serves. Each area's tests are a suite in tests/api-contract/, run here on
 * both storage drivers, so the coverage check below sees them all.
 */
const SUITES = [
  filesSuite,
  preconditionsSuite,
  uploadsSuite,
  sharingSuite,
  searchSuite,
  adminSuite,
  adminOpsSuite,
  tokensSuite,
  webhooksSuite,
  notificationPreferencesSuite,
  hostileSuite,
];

let document: OpenApiDocument | null = null;
const exercised = new Set<string>();

describe.each(["local", "s3"] as const)("the API on %s storage", (storage) => {
  let env: ApiEnv | null = null;
  beforeAll(async () => {
    env = await setUpApiEnv(storage);
    document = env.document;
  });
  afterAll(async () => {
    if (!env) return;
    for (const entry of env.validator.seen) exercised.add(entry.split(" ")[0]!);
    await env.app.close();
  });
  for (const suite of SUITES) suite(() => env!, storage);
});

describe("the API contract", () => {
  it("has a test for every documented operation, the tus uploads included", () => {
    expect(document).not.toBeNull();
    const documented = Object.entries(document!.paths)
      .filter(([template]) => template.startsWith("/api/v1/") || template.startsWith("/api/uploads"))
      .flatMap(([, methods]) => Object.values(methods).map((operation) => operation.operationId));
    expect(documented.filter((id) => !exercised.has(id))).toEqual([]);
  });

  it("serves /api/v1 only through the documented router", () => {
    // Every operation lives in app/route-helpers/api and is in the document by construction; a
    // route module of its own under /api/v1 would bypass both.
    const routes = fs.readdirSync(path.resolve(import.meta.dirname, "../app/routes")).filter((name) => name.startsWith("api.v1."));
    expect(routes.sort()).toEqual(["api.v1.$.tsx", "api.v1.openapi[.]json.tsx"]);
  });

  it("keeps the typed client's generated types up to date (npm run api:types)", async () => {
    const committed = fs.readFileSync(path.resolve(import.meta.dirname, "support/api-schema.d.ts"), "utf8");
    expect(committed).toBe(await apiTypesSource());
  });
});
