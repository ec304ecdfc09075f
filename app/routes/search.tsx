import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, Link, useLoaderData } from "@remix-run/react";
import { searchFiles, type FoundItem, type SharedFoundItem } from "~/domain/search/search.server";
import type { SnippetPart } from "~/services/search/types";
import { requireUser } from "~/route-helpers/guards.server";
import { FileIcon, FolderIcon } from "~/components/icons";
import { formatBytes } from "~/lib/format";
import { field, parseQuery } from "~/route-helpers/forms.server";
import { z } from "zod";
import { Button } from "~/components/ui/button";

export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: data?.query ? `“${data.query}” · Search · Coffer` : "Search · Coffer" },
];

/** The words to look for; a longer query is cut rather than refused, as the search box allows. */
const searchQuery = z.object({ q: field.string(z.string().transform((q) => q.trim().slice(0, 200))) });

export async function loader({ request, context }: LoaderFunctionArgs) {
  const user = await requireUser(context.services, request);
  const { q: query } = parseQuery(request, searchQuery);
  const contentSearch = context.services.config.contentSearch.enabled;
  if (!query)
    return {
      query,
      contentSearch,
      hits: [],
      total: 0,
      totalIsLowerBound: false,
      sharedHits: [],
      sharedTotal: 0,
      sharedTotalIsLowerBound: false,
    };
  const result = await searchFiles(context.services, user, query);
  return { query, contentSearch, ...result };
}

export default function Search() {
  const { query, contentSearch, hits, total, totalIsLowerBound, sharedHits, sharedTotal, sharedTotalIsLowerBound } =
    useLoaderData<typeof loader>();
  return (
    <div className="space-y-6">
      <h1 className="text-2xl font-semibold">Search</h1>
      <Form method="get" role="search" className="flex max-w-xl gap-2">
        <label htmlFor="search-query" className="sr-only">
          Search names and file contents
        </label>
        <input id="search-query" name="q" type="search" defaultValue={query} className="input" placeholder="Name or words in a file" />
        <Button variant="primary" type="submit">
          Search
        </Button>
      </Form>
      {query ? (
        <>
          <section aria-labelledby="results-heading">
            <h2 id="results-heading" className="text-sm text-text-muted">
              {total === 0
                ? sharedTotal === 0
                  ? `Nothing matches “${query}”. Check the spelling or try part of the name.`
                  : `Nothing of yours matches “${query}”.`
                : `${resultCount(total, totalIsLowerBound)} for “${query}”`}
            </h2>
            <HitList hits={hits} testId="search-own" />
          </section>
          {sharedTotal > 0 ? (
            <section aria-labelledby="shared-results-heading">
              <h2 id="shared-results-heading" className="text-sm text-text-muted">
                {`${resultCount(sharedTotal, sharedTotalIsLowerBound)} shared with you`}
              </h2>
              <HitList hits={sharedHits} testId="search-shared" />
            </section>
          ) : null}
        </>
      ) : (
        <p className="text-sm text-text-muted">
          {contentSearch
            ? "Type part of a file or folder name. Words inside documents are found too. Misspellings in names are fine. Items shared with you are searched too."
            : "Type part of a file or folder name. Misspellings are fine. Items shared with you are searched too."}
        </p>
      )}
    </div>
  );
}

/** "1 result", "12 results", or "More than 1000 results" when the search stopped counting. */
function resultCount(total: number, isLowerBound: boolean): string {
  if (isLowerBound) return `More than ${total} results`;
  return `${total} result${total === 1 ? "" : "s"}`;
}

function HitList({ hits, testId }: { hits: Array<FoundItem | SharedFoundItem>; testId: string }) {
  if (hits.length === 0) return null;
  return (
    <ul className="card mt-3 divide-y divide-border" data-testid={testId}>
      {hits.map((hit) => (
        <li key={hit.id} className="px-4 py-3 text-sm">
          <div className="flex items-center justify-between gap-4">
            {hit.kind === "folder" ? (
              <Link to={`/files/${hit.id}`} className="flex items-center gap-2 font-medium text-accent-text hover:underline">
                <FolderIcon />
                {hit.name}
              </Link>
            ) : (
              <a href={`/download/${hit.id}`} download className="flex items-center gap-2 text-accent-text hover:underline">
                <FileIcon />
                {hit.name}
              </a>
            )}
            <span className="flex items-center gap-3 text-text-muted">
              {"ownerName" in hit ? <span>{`Shared by ${hit.ownerName}`}</span> : null}
              {hit.size !== null ? formatBytes(hit.size) : "Folder"}
              {hit.folderId ? (
                <Link to={`/files/${hit.folderId}`} className="text-accent-text hover:underline">
                  Open folder
                </Link>
              ) : null}
            </span>
          </div>
          {hit.matchedBy === "content" ? <ContentMatch snippet={hit.snippet} /> : null}
        </li>
      ))}
    </ul>
  );
}

/** Where the words were found inside the file. The parts are text: React escapes them. */
function ContentMatch({ snippet }: { snippet: SnippetPart[] | null }) {
  return (
    <p className="mt-1 pl-7 text-text-muted" data-testid="content-match">
      <span className="mr-2 rounded bg-surface-hover px-1.5 py-0.5 text-xs font-medium text-text-muted">Matched inside the file</span>
      {snippet?.length ? (
        <span>
          {"… "}
          {snippet.map((part, index) =>
            part.match ? (
              // biome-ignore lint/suspicious/noArrayIndexKey: a snippet's parts never reorder.
              <mark key={index} className="rounded bg-highlight px-0.5 text-text">
                {part.text}
              </mark>
            ) : (
              // biome-ignore lint/suspicious/noArrayIndexKey: a snippet's parts never reorder.
              <span key={index}>{part.text}</span>
            ),
          )}
          {" …"}
        </span>
      ) : null}
    </p>
  );
}
