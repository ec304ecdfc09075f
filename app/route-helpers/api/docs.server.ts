import { openApiDocument, problemTypes } from "./openapi.server";

/** What /api/docs shows, read from the OpenAPI document: operations by tag, schemas, problems. */
export interface DocsOperation {
  anchor: string;
  method: string;
  path: string;
  summary: string;
  description: string | null;
  parameters: Array<{ name: string; in: string; required: boolean; description: string | null }>;
  requestSchema: string | null;
  responses: Array<{ status: string; description: string; schema: string | null }>;
}

type Json = Record<string, any>;

function schemaName(content: Json | undefined): string | null {
  const media = content ? (Object.values(content)[0] as Json | undefined) : undefined;
  const ref = media?.schema?.$ref as string | undefined;
  if (ref) return ref.split("/").pop() ?? null;
  return media?.schema?.format === "binary" ? "binary" : null;
}

export function apiDocs() {
  const document = openApiDocument() as unknown as Json;
  const byTag = new Map<string, DocsOperation[]>();
  // The webhooks (what Coffer posts to an endpoint, one per event kind) are listed by kind, under their tag.
  for (const [path, methods] of [...Object.entries(document.paths as Json), ...Object.entries((document.webhooks ?? {}) as Json)]) {
    for (const [method, operation] of Object.entries(methods as Json)) {
      const op = operation as Json;
      const tag = (op.tags?.[0] as string) ?? "Other";
      const list = byTag.get(tag) ?? [];
      list.push({
        anchor: `op-${op.operationId}`,
        method: method.toUpperCase(),
        path,
        summary: op.summary,
        description: op.description ?? null,
        parameters: ((op.parameters ?? []) as Json[]).map((p) => ({
          name: p.name,
          in: p.in,
          required: Boolean(p.required),
          description: p.description ?? p.schema?.description ?? null,
        })),
        requestSchema: schemaName(op.requestBody?.content),
        responses: Object.entries(op.responses as Json).map(([status, reference]) => {
          // Shared problems (429, 503) are references to components.responses.
          const ref = (reference as Json).$ref as string | undefined;
          const response = (ref ? document.components.responses[ref.split("/").pop()!] : reference) as Json;
          return { status, description: response.description, schema: schemaName(response.content) };
        }),
      });
      byTag.set(tag, list);
    }
  }
  const tags = ((document.tags ?? []) as Json[]).map((tag) => ({
    name: tag.name as string,
    description: tag.description as string,
    operations: byTag.get(tag.name) ?? [],
  }));
  const schemas = Object.entries(document.components.schemas as Json).map(([name, schema]) => ({
    name,
    description: (schema as Json).description ?? null,
    json: JSON.stringify(schema, null, 2),
  }));
  return { title: document.info.title as string, version: document.info.version as string, tags, schemas, problems: problemTypes() };
}
