import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, Link, useLoaderData } from "@remix-run/react";
import { searchFiles, type FoundItem, type SharedFoundItem } from "~/domain/search.server";
import { requireUser } from "~/domain/sessions.server";
import { FileIcon, FolderIcon } from "~/components/icons";
import { formatBytes } from "~/lib/format";

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: data?.query ? `“${data.query}” · Search · Coffer` : "Search · Coffer" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const user = await requireUser(context.services, request);
  const query = (new URL(request.url).searchParams.get("q") ?? "").trim().slice(0, 200);
  if (!query) return { query, hits: [], total: 0, sharedHits: [], sharedTotal: 0 };
  const result = await searchFiles(context.services, user, query);
  return { query, ...result };
}

export default function Search() {
  const { query, hits, total, sharedHits, sharedTotal } = useLoaderData<typeof loader>();
  return (
    <div className="space-y-6">
      <h1 className="text-2xl font-semibold">Search</h1>
      <Form method="get" role="search" className="flex max-w-xl gap-2">
        <label htmlFor="search-query" className="sr-only">
          Search by name
        </label>
        <input id="search-query" name="q" type="search" defaultValue={query} className="input" placeholder="File or folder name" />
        <button type="submit" className="btn-primary">
          Search
        </button>
      </Form>
      {query ? (
        <>
          <section aria-labelledby="results-heading">
            <h2 id="results-heading" className="text-sm text-slate-700">
              {total === 0
                ? sharedTotal === 0
                  ? `Nothing matches “${query}”. Check the spelling or try part of the name.`
                  : `Nothing of yours matches “${query}”.`
                : `${total} result${total === 1 ? "" : "s"} for “${query}”`}
            </h2>
            <HitList hits={hits} testId="search-own" />
          </section>
          {sharedTotal > 0 ? (
            <section aria-labelledby="shared-results-heading">
              <h2 id="shared-results-heading" className="text-sm text-slate-700">
                {`${sharedTotal} result${sharedTotal === 1 ? "" : "s"} shared with you`}
              </h2>
              <HitList hits={sharedHits} testId="search-shared" />
            </section>
          ) : null}
        </>
      ) : (
        <p className="text-sm text-slate-600">Type part of a file or folder name. Misspellings are fine. Items shared with you are searched too.</p>
      )}
    </div>
  );
}

function HitList({ hits, testId }: { hits: Array<FoundItem | SharedFoundItem>; testId: string }) {
  if (hits.length === 0) return null;
  return (
    <ul className="card mt-3 divide-y divide-slate-100" data-testid={testId}>
      {hits.map((hit) => (
        <li key={hit.id} className="flex items-center justify-between gap-4 px-4 py-3 text-sm">
          {hit.kind === "folder" ? (
            <Link to={`/files/${hit.id}`} className="flex items-center gap-2 font-medium text-blue-800 hover:underline">
              <FolderIcon />
              {hit.name}
            </Link>
          ) : (
            <a href={`/download/${hit.id}`} download className="flex items-center gap-2 text-blue-800 hover:underline">
              <FileIcon />
              {hit.name}
            </a>
          )}
          <span className="flex items-center gap-3 text-slate-600">
            {"ownerName" in hit ? <span>{`Shared by ${hit.ownerName}`}</span> : null}
            {hit.size !== null ? formatBytes(hit.size) : "Folder"}
            {hit.folderId ? (
              <Link to={`/files/${hit.folderId}`} className="text-blue-800 hover:underline">
                Open folder
              </Link>
            ) : null}
          </span>
        </li>
      ))}
    </ul>
  );
}
