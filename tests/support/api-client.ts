import Ajv2020 from "ajv/dist/2020";
import createClient, { type Middleware } from "openapi-fetch";
import { expect } from "vitest";
import type { paths } from "./api-schema";
import type { TestClient } from "./client";

/**
 * The typed API client the contract tests drive (openapi-fetch over the generated types), acting
 * as `browser` (its session cookie and CSRF token). Every response it gets, errors included, is
 * checked against the OpenAPI document served by the app: its status must be documented for the
 * operation, its content type must be the documented one, and a JSON body must match the
 * schema (ajv, JSON Schema 2020-12, which OpenAPI 3.1 uses). Operations seen are recorded, for
 * the coverage check.
 */
type ResponseObject = { description?: string; content?: Record<string, { schema: object }>; headers?: Record<string, object> };

export type OpenApiDocument = {
  paths: Record<string, Record<string, { operationId: string; responses: Record<string, ResponseObject & { $ref?: string }> }>>;
  components: { schemas: Record<string, object>; responses?: Record<string, ResponseObject> };
};

export function responseValidator(document: OpenApiDocument) {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  ajv.addSchema({ $id: "https://coffer.test/openapi.json", components: document.components });
  const seen = new Set<string>();
  async function check(method: string, schemaPath: string, response: Response): Promise<void> {
    const operation = document.paths[schemaPath]?.[method.toLowerCase()];
    expect(operation, `${method} ${schemaPath} is in the document`).toBeDefined();
    const entry = operation!.responses[String(response.status)];
    // Shared problems are references to components.responses.
    const spec = entry?.$ref ? document.components.responses?.[entry.$ref.split("/").pop()!] : entry;
    expect(spec, `${operation!.operationId} documents status ${response.status}`).toBeDefined();
    seen.add(`${operation!.operationId} ${response.status}`);
    const type = (response.headers.get("content-type") ?? "").split(";")[0]!.trim();
    if (!spec!.content) return;
    // A download is in the file's own type, documented as the range */*.
    const media = spec!.content[type] ?? spec!.content["*/*"];
    expect(media, `${operation!.operationId} ${response.status} documents content type ${type}`).toBeDefined();
    // JSON bodies only: an NDJSON export (application/x-ndjson) is many documents, not one.
    if (!/^application\/(?:[\w.-]+\+)?json$/.test(type) || method === "HEAD") return;
    const body = await response.clone().json();
    const ref = JSON.stringify(media!.schema).replaceAll('"#/components', '"https://coffer.test/openapi.json#/components');
    const validate = ajv.compile(JSON.parse(ref));
    expect(
      validate(body),
      `${operation!.operationId} ${response.status}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body)}`,
    ).toBe(true);
  }
  return { check, seen };
}

type Validator = ReturnType<typeof responseValidator>;

function validating(validator: Validator): Middleware {
  return {
    async onResponse({ request, response, schemaPath }) {
      await validator.check(request.method, schemaPath, response);
      return response;
    },
  };
}

/** A script: an access token and no cookie, every answer validated against the document. */
export function bearerApiClient(baseUrl: string, token: string, validator: Validator) {
  const client = createClient<paths>({ baseUrl, headers: { authorization: `Bearer ${token}` } });
  client.use(validating(validator));
  return client;
}

export function apiClient(browser: TestClient, validator: Validator) {
  const client = createClient<paths>({
    baseUrl: browser.baseUrl,
    async fetch(request: Request) {
      const body = request.body ? await request.arrayBuffer() : undefined;
      return browser.request(request.url, { method: request.method, headers: request.headers, body });
    },
  });
  client.use(validating(validator));
  return client;
}
