import { openApiDocument } from "~/route-helpers/api/openapi.server";

/** The OpenAPI 3.1 document of /api/v1, generated from the schemas the API validates with. */
export function loader() {
  return new Response(JSON.stringify(openApiDocument()), {
    headers: { "Content-Type": "application/json", "Cache-Control": "public, max-age=300" },
  });
}
