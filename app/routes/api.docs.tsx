import type { MetaFunction } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { apiDocs } from "~/route-helpers/api/docs.server";

export const meta: MetaFunction = () => [{ title: "API documentation · Coffer" }];

/** The API's reference, rendered on the server from the OpenAPI document: readable without JavaScript. */
export function loader() {
  return apiDocs();
}

export default function ApiDocs() {
  const docs = useLoaderData<typeof loader>();
  return (
    <div className="mx-auto max-w-4xl space-y-8 py-6">
      <header className="space-y-2">
        <h1 className="text-2xl font-semibold">
          {docs.title} <span className="text-base font-normal text-text-muted">version {docs.version}</span>
        </h1>
        <p className="text-text-muted">
          JSON over HTTPS under <code>/api/v1</code>. Sign in with the browser session (changes also need the <code>X-CSRF-Token</code>{" "}
          header). The machine-readable description is{" "}
          <a className="underline" href="/api/v1/openapi.json">
            /api/v1/openapi.json
          </a>{" "}
          (OpenAPI 3.1).
        </p>
        <nav aria-label="API sections">
          <ul className="flex flex-wrap gap-x-4 gap-y-1">
            {docs.tags.map((tag) => (
              <li key={tag.name}>
                <a className="underline" href={`#tag-${tag.name}`}>
                  {tag.name}
                </a>
              </li>
            ))}
            <li>
              <a className="underline" href="#schemas">
                Schemas
              </a>
            </li>
            <li>
              <a className="underline" href="#problems">
                Errors
              </a>
            </li>
          </ul>
        </nav>
      </header>

      {docs.tags.map((tag) => (
        <section key={tag.name} aria-labelledby={`tag-${tag.name}`} className="space-y-4">
          <h2 id={`tag-${tag.name}`} className="text-xl font-semibold">
            {tag.name}
          </h2>
          <p className="text-text-muted">{tag.description}</p>
          {tag.operations.length === 0 ? <p>No operations yet.</p> : null}
          {tag.operations.map((op) => (
            <article key={op.anchor} id={op.anchor} className="space-y-2 rounded border border-border-strong p-4">
              <h3 className="font-semibold">{op.summary}</h3>
              <p className="break-all font-mono text-sm">
                <span className="font-bold">{op.method}</span> {op.path}
              </p>
              {op.description ? <p className="text-text-muted">{op.description}</p> : null}
              {op.parameters.length > 0 ? (
                <>
                  <h4 className="text-sm font-semibold">Parameters</h4>
                  <ul className="list-disc pl-5 text-sm">
                    {op.parameters.map((p) => (
                      <li key={`${p.in}-${p.name}`}>
                        <code>{p.name}</code> ({p.in}
                        {p.required ? ", required" : ""}){p.description ? `: ${p.description}` : ""}
                      </li>
                    ))}
                  </ul>
                </>
              ) : null}
              {op.requestSchema ? (
                <p className="text-sm">
                  Body:{" "}
                  <a className="underline" href={`#schema-${op.requestSchema}`}>
                    {op.requestSchema}
                  </a>
                </p>
              ) : null}
              <h4 className="text-sm font-semibold">Responses</h4>
              <ul className="list-disc pl-5 text-sm">
                {op.responses.map((r) => (
                  <li key={r.status}>
                    <code>{r.status}</code> {r.description}
                    {r.schema && r.schema !== "binary" ? (
                      <>
                        {" "}
                        (
                        <a className="underline" href={`#schema-${r.schema}`}>
                          {r.schema}
                        </a>
                        )
                      </>
                    ) : null}
                  </li>
                ))}
              </ul>
            </article>
          ))}
        </section>
      ))}

      <section aria-labelledby="schemas" className="space-y-4">
        <h2 id="schemas" className="text-xl font-semibold">
          Schemas
        </h2>
        {docs.schemas.map((schema) => (
          <details key={schema.name} id={`schema-${schema.name}`} className="rounded border border-border-strong p-3">
            <summary className="cursor-pointer font-semibold">
              {schema.name}
              {schema.description ? <span className="font-normal text-text-muted"> — {schema.description}</span> : null}
            </summary>
            <pre className="mt-2 overflow-x-auto text-xs">{schema.json}</pre>
          </details>
        ))}
      </section>

      <section aria-labelledby="problems" className="space-y-3">
        <h2 id="problems" className="text-xl font-semibold">
          Errors
        </h2>
        <p className="text-text-muted">
          Every error is an RFC 9457 <code>application/problem+json</code> body with <code>type</code>, <code>title</code>,{" "}
          <code>status</code>, <code>detail</code> and, for invalid input, <code>errors</code> (a JSON pointer and a message per field). The{" "}
          <code>type</code> of each error never changes:
        </p>
        <dl className="space-y-2">
          {docs.problems.map((p) => (
            <div key={p.anchor} id={p.anchor}>
              <dt className="font-mono text-sm">
                {p.status} <span className="break-all">{p.type}</span>
              </dt>
              <dd className="pl-4 text-text-muted">{p.description}</dd>
            </div>
          ))}
        </dl>
      </section>
    </div>
  );
}
