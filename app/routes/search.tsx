import { Card } from "~/components/ui/card";
import type { HeadersFunction, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, isRouteErrorResponse, Link, useLoaderData, useNavigation, useRouteError, useSubmit } from "@remix-run/react";
import { useEffect, useRef, type FormEvent } from "react";
import { folderPaths, searchFiles, type FoundItem, type SharedFoundItem } from "~/domain/search/search.server";
import { getReadableFolder } from "~/domain/files/folders.server";
import { fileTypeOf, type SnippetPart } from "~/services/search/types";
import { requireUser } from "~/route-helpers/guards.server";
import { defaultOrder, parseSearchPageQuery, searchRequest, type SearchPageQuery } from "~/route-helpers/search-page.server";
import { FileIcon, FolderIcon } from "~/components/icons";
import { formatBytes, formatDate } from "~/lib/format";
import { markWords, type MarkedPart } from "~/lib/search-marks";
import { Button, ButtonLink } from "~/components/ui/button";
import { Input, Label, Select } from "~/components/ui/input";
import { EmptyState } from "~/components/ui/empty-state";
import { Badge } from "~/components/ui/badge";

export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: data?.query ? `“${data.query}” · Search · Coffer` : "Search · Coffer" },
];

/** Deep paths show the top folder, an ellipsis and the last folders. */
const PATH_HEAD = 1;
const PATH_TAIL = 2;

/**
 * The page has its own ErrorBoundary, so Remix takes an error's headers from this route rather
 * than the root: a 503 (search down) keeps its Retry-After, and no error page is cached.
 */
export const headers: HeadersFunction = ({ errorHeaders }) => {
  const headers = new Headers();
  for (const name of ["Retry-After", "Cache-Control"]) {
    const value = errorHeaders?.get(name);
    if (value) headers.set(name, value);
  }
  return headers;
};

export async function loader({ request, context }: LoaderFunctionArgs) {
  const user = await requireUser(context.services, request);
  const params = parseSearchPageQuery(request);
  const { q: query } = params;
  const contentSearch = context.services.config.contentSearch.enabled;
  // The folder a search is limited to: one the user may read (404 otherwise), named on the page.
  const folder = params.folder ? await getReadableFolder(context.services, user, params.folder) : null;
  const chosen = {
    type: params.type ?? "",
    modified: params.modified ?? "",
    from: params.from ?? "",
    to: params.to ?? "",
    size: params.size ?? "",
    folder: folder ? { id: folder.id, name: folder.parentId === null ? "My files" : folder.name } : null,
    sort: params.sort ?? "relevance",
    order: params.sort && params.sort !== "relevance" ? (params.order ?? defaultOrder(params.sort)) : "",
  };
  const filtered = hasFilters(params);
  if (!query)
    return {
      query,
      contentSearch,
      chosen,
      filtered,
      searched: false as const,
      own: [],
      shared: [],
      total: 0,
      totalIsLowerBound: false,
      sharedTotal: 0,
      sharedTotalIsLowerBound: false,
    };
  const result = await searchFiles(context.services, user, query, searchRequest(params));
  const paths = await folderPaths(context.services, user, [...result.hits, ...result.sharedHits]);
  const view = (hit: FoundItem | SharedFoundItem) => ({
    id: hit.id,
    kind: hit.kind,
    name: markWords(hit.name, query),
    plainName: hit.name,
    folderId: hit.folderId,
    path: (hit.folderId ? (paths.get(hit.folderId) ?? []) : []).map((crumb) => ({ id: crumb.id, name: crumb.name })),
    size: hit.size,
    type: hit.kind === "folder" ? "folder" : fileTypeOf(hit.mimeType),
    updatedAt: hit.updatedAt.toISOString(),
    matchedBy: hit.matchedBy,
    snippet: hit.snippet,
    ownerName: "ownerName" in hit ? hit.ownerName : null,
  });
  return {
    query,
    contentSearch,
    chosen,
    filtered,
    searched: true as const,
    own: result.hits.map(view),
    shared: result.sharedHits.map(view),
    total: result.total,
    totalIsLowerBound: result.totalIsLowerBound,
    sharedTotal: result.sharedTotal,
    sharedTotalIsLowerBound: result.sharedTotalIsLowerBound,
  };
}

function hasFilters(params: SearchPageQuery): boolean {
  return Boolean(params.type || params.modified || params.size || params.folder);
}

type Hit = ReturnType<typeof useLoaderData<typeof loader>>["own"][number];

const TYPE_LABELS: Record<string, string> = {
  folder: "Folder",
  image: "Image",
  video: "Video",
  audio: "Audio",
  document: "Document",
  archive: "Archive",
  text: "Text or code",
  other: "Other file",
};

/** Wait this long after the last key before searching as you type. */
const TYPING_DELAY_MS = 250;

export default function Search() {
  const data = useLoaderData<typeof loader>();
  const { query, contentSearch, chosen, filtered } = data;
  const submit = useSubmit();
  const navigation = useNavigation();
  const formRef = useRef<HTMLFormElement>(null);
  const timer = useRef<ReturnType<typeof setTimeout>>(undefined);
  const searching = navigation.state === "loading" && navigation.location.pathname === "/search";

  // With JS: results follow the form as you type (after a pause) or change a filter; the URL
  // follows too (a GET navigation, no full reload). Typing more of a search replaces its history
  // entry, so Back goes to the previous search, not to each letter.
  const onChange = (event: FormEvent<HTMLFormElement>) => {
    const form = event.currentTarget;
    clearTimeout(timer.current);
    const typing = (event.target as HTMLElement).getAttribute("type") === "search";
    const replace = typing && query !== "";
    timer.current = setTimeout(() => submit(form, { replace, preventScrollReset: true }), typing ? TYPING_DELAY_MS : 0);
  };
  useEffect(() => () => clearTimeout(timer.current), []);

  // Back and forward show another search: the fields follow it, except the one being typed in.
  useEffect(() => {
    const form = formRef.current;
    if (!form) return;
    const values: Record<string, string> = {
      q: query,
      type: chosen.type,
      modified: chosen.modified,
      from: chosen.from,
      to: chosen.to,
      size: chosen.size,
      sort: chosen.sort,
      order: chosen.order,
    };
    for (const [name, value] of Object.entries(values)) {
      const element = form.elements.namedItem(name);
      if ((element instanceof HTMLInputElement || element instanceof HTMLSelectElement) && element !== document.activeElement)
        element.value = value;
    }
  }, [query, chosen.type, chosen.modified, chosen.from, chosen.to, chosen.size, chosen.sort, chosen.order]);

  const clearFilters = `/search?${new URLSearchParams({ q: query })}`;
  return (
    <div className="space-y-6">
      <h1 className="text-2xl font-semibold">Search</h1>
      <Form
        method="get"
        action="/search"
        role="search"
        ref={formRef}
        onChange={onChange}
        className="space-y-3"
        aria-describedby="search-help"
      >
        <div className="flex max-w-2xl gap-2">
          <Label htmlFor="search-query" className="sr-only">
            Search names and file contents
          </Label>
          <Input id="search-query" name="q" type="search" defaultValue={query} placeholder="Name or words in a file" autoComplete="off" />
          <Button variant="primary" type="submit">
            Search
          </Button>
        </div>
        <fieldset className="flex flex-wrap items-end gap-3">
          <legend className="sr-only">Filters and order</legend>
          <FilterSelect id="search-type" name="type" label="Type" defaultValue={chosen.type}>
            <option value="">Any type</option>
            {Object.entries(TYPE_LABELS).map(([value, label]) => (
              <option key={value} value={value}>
                {value === "other" ? "Other" : label}
              </option>
            ))}
          </FilterSelect>
          <FilterSelect id="search-modified" name="modified" label="Modified" defaultValue={chosen.modified}>
            <option value="">Any time</option>
            <option value="today">Today</option>
            <option value="week">Last 7 days</option>
            <option value="month">Last 30 days</option>
            <option value="year">Last year</option>
            <option value="custom">Custom range</option>
          </FilterSelect>
          <FilterSelect id="search-size" name="size" label="Size" defaultValue={chosen.size}>
            <option value="">Any size</option>
            <option value="small">Under 1 MiB</option>
            <option value="medium">1 to 100 MiB</option>
            <option value="large">Over 100 MiB</option>
          </FilterSelect>
          <FilterSelect id="search-sort" name="sort" label="Sort by" defaultValue={chosen.sort}>
            <option value="relevance">Relevance</option>
            <option value="name">Name</option>
            <option value="modified">Modified</option>
            <option value="size">Size</option>
          </FilterSelect>
          <FilterSelect id="search-order" name="order" label="Order" defaultValue={chosen.order}>
            <option value="">Default order</option>
            <option value="asc">Ascending</option>
            <option value="desc">Descending</option>
          </FilterSelect>
          {chosen.folder ? (
            <div className="flex min-h-10 items-center gap-2 text-sm">
              <input id="search-folder" name="folder" type="checkbox" value={chosen.folder.id} defaultChecked className="size-4" />
              <Label htmlFor="search-folder" className="mb-0">
                {`Only in “${chosen.folder.name}” and its subfolders`}
              </Label>
            </div>
          ) : null}
        </fieldset>
        <details open={chosen.modified === "custom"} className="text-sm">
          <summary className="cursor-pointer text-text-muted">Custom date range (choose “Custom range” above)</summary>
          <div className="mt-2 flex flex-wrap gap-3">
            <div>
              <Label htmlFor="search-from">Modified from</Label>
              <Input id="search-from" name="from" type="date" defaultValue={chosen.from} />
            </div>
            <div>
              <Label htmlFor="search-to">Modified until (included)</Label>
              <Input id="search-to" name="to" type="date" defaultValue={chosen.to} />
            </div>
          </div>
        </details>
        <p id="search-help" className="text-sm text-text-muted">
          {contentSearch
            ? "Type part of a file or folder name. Words inside documents are found too. Misspellings in names are fine. Items shared with you are searched too. Dates are UTC days."
            : "Type part of a file or folder name. Misspellings are fine. Items shared with you are searched too. Dates are UTC days."}
        </p>
      </Form>
      <div aria-busy={searching} className={searching ? "opacity-60" : undefined} data-testid="search-results">
        <p role="status" className="sr-only">
          {data.searched ? statusText(data.total, data.totalIsLowerBound, data.sharedTotal, query) : ""}
        </p>
        {!data.searched ? (
          <EmptyState title={filtered ? "Type a word to search with these filters" : "Search your files and folders"}>
            Type part of a name, or words inside a document, in the box above. Then narrow by type, date, size or folder, and sort the
            results.
          </EmptyState>
        ) : data.total === 0 && data.sharedTotal === 0 ? (
          <EmptyState
            title={`Nothing matches “${query}”${filtered ? " with these filters" : ""}`}
            action={filtered ? <ButtonLink to={clearFilters}>Clear the filters</ButtonLink> : undefined}
          >
            {filtered
              ? "Clear the filters to search everything, or check the spelling."
              : "Check the spelling, try fewer words or just part of the name."}
          </EmptyState>
        ) : (
          <>
            <section aria-labelledby="results-heading">
              <h2 id="results-heading" className="text-sm text-text-muted">
                {data.total === 0
                  ? `Nothing of yours matches “${query}”.`
                  : `${resultCount(data.total, data.totalIsLowerBound)} for “${query}”`}
              </h2>
              <HitList hits={data.own} testId="search-own" />
            </section>
            {data.sharedTotal > 0 ? (
              <section aria-labelledby="shared-results-heading">
                <h2 id="shared-results-heading" className="text-sm text-text-muted">
                  {`${resultCount(data.sharedTotal, data.sharedTotalIsLowerBound)} shared with you`}
                </h2>
                <HitList hits={data.shared} testId="search-shared" />
              </section>
            ) : null}
          </>
        )}
      </div>
    </div>
  );
}

function FilterSelect({
  id,
  name,
  label,
  defaultValue,
  children,
}: {
  id: string;
  name: string;
  label: string;
  defaultValue: string;
  children: React.ReactNode;
}) {
  return (
    <div>
      <Label htmlFor={id}>{label}</Label>
      <Select id={id} name={name} defaultValue={defaultValue}>
        {children}
      </Select>
    </div>
  );
}

function statusText(total: number, isLowerBound: boolean, sharedTotal: number, query: string): string {
  if (total === 0 && sharedTotal === 0) return `Nothing matches “${query}”.`;
  return `${resultCount(total, isLowerBound)} for “${query}”${sharedTotal > 0 ? `, ${resultCount(sharedTotal, false)} shared with you` : ""}.`;
}

/** "1 result", "12 results", or "More than 1000 results" when the search stopped counting. */
function resultCount(total: number, isLowerBound: boolean): string {
  if (isLowerBound) return `More than ${total} results`;
  return `${total} result${total === 1 ? "" : "s"}`;
}

function HitList({ hits, testId }: { hits: Hit[]; testId: string }) {
  if (hits.length === 0) return null;
  return (
    <Card as="ul" padding="none" className="mt-3 divide-y divide-border" data-testid={testId}>
      {hits.map((hit) => (
        // data-name: the whole name, which the marks split, for tools and tests that look for it.
        <li key={hit.id} className="px-4 py-3 text-sm" data-testid="search-hit" data-name={hit.plainName}>
          <div className="flex flex-wrap items-center justify-between gap-x-4 gap-y-1">
            {hit.kind === "folder" ? (
              <Link
                to={`/files/${hit.id}`}
                className="flex min-w-0 items-center gap-2 font-medium text-accent-text hover:underline"
                data-testid="hit-name"
              >
                <FolderIcon />
                <span className="min-w-0 break-words">
                  <Marked parts={hit.name} />
                </span>
              </Link>
            ) : (
              <a
                href={`/download/${hit.id}`}
                download
                className="flex min-w-0 items-center gap-2 text-accent-text hover:underline"
                data-testid="hit-name"
              >
                <FileIcon />
                <span className="min-w-0 break-words">
                  <Marked parts={hit.name} />
                </span>
              </a>
            )}
            <span className="flex flex-wrap items-center gap-3 text-text-muted">
              {hit.ownerName !== null ? <span>{`Shared by ${hit.ownerName}`}</span> : null}
              <Badge>{TYPE_LABELS[hit.type]}</Badge>
              {hit.size !== null ? <span>{formatBytes(hit.size)}</span> : null}
              <span>
                <span className="sr-only">Modified </span>
                <time dateTime={hit.updatedAt}>{formatDate(hit.updatedAt)}</time>
              </span>
            </span>
          </div>
          <ResultPath path={hit.path} />
          {hit.matchedBy === "content" ? <ContentMatch snippet={hit.snippet} /> : null}
        </li>
      ))}
    </Card>
  );
}

/** Where the item is, as links to its folders; deep paths keep the top and the last folders. */
function ResultPath({ path }: { path: Array<{ id: string; name: string }> }) {
  if (path.length === 0) return null;
  const shown: Array<{ id: string; name: string } | { hidden: string[] }> =
    path.length > PATH_HEAD + PATH_TAIL + 1
      ? [...path.slice(0, PATH_HEAD), { hidden: path.slice(PATH_HEAD, -PATH_TAIL).map((c) => c.name) }, ...path.slice(-PATH_TAIL)]
      : path;
  return (
    <nav aria-label="Location" className="mt-1 pl-7">
      <ol className="flex flex-wrap items-center gap-1 text-xs text-text-muted" data-testid="hit-path">
        {shown.map((crumb, index) => (
          <li key={"id" in crumb ? crumb.id : "hidden"} className="flex min-w-0 items-center gap-1">
            {index > 0 ? <span aria-hidden="true">/</span> : null}
            {"id" in crumb ? (
              <Link to={`/files/${crumb.id}`} className="max-w-48 truncate hover:underline" title={crumb.name}>
                {crumb.name}
              </Link>
            ) : (
              <span title={crumb.hidden.join(" / ")}>
                <span aria-hidden="true">…</span>
                <span className="sr-only">{`${crumb.hidden.length} more folders`}</span>
              </span>
            )}
          </li>
        ))}
      </ol>
    </nav>
  );
}

/** Parts of a name or snippet, the query's words in <mark>. The parts are text: React escapes them. */
function Marked({ parts }: { parts: MarkedPart[] | SnippetPart[] }) {
  return (
    <>
      {parts.map((part, index) =>
        part.match ? (
          // biome-ignore lint/suspicious/noArrayIndexKey: the parts never reorder.
          <mark key={index} className="rounded bg-highlight px-0.5 text-text">
            {part.text}
          </mark>
        ) : (
          // biome-ignore lint/suspicious/noArrayIndexKey: the parts never reorder.
          <span key={index}>{part.text}</span>
        ),
      )}
    </>
  );
}

/** Where the words were found inside the file. */
function ContentMatch({ snippet }: { snippet: SnippetPart[] | null }) {
  return (
    <p className="mt-1 pl-7 text-text-muted" data-testid="content-match">
      <span className="mr-2 rounded bg-surface-hover px-1.5 py-0.5 text-xs font-medium text-text-muted">Matched inside the file</span>
      {snippet?.length ? (
        <span>
          {"… "}
          <Marked parts={snippet} />
          {" …"}
        </span>
      ) : null}
    </p>
  );
}

/**
 * A search that cannot run (a bad parameter in a hand-edited or old link: 400; a folder you may
 * not read: 404) says why and offers a fresh search; anything else is the app's error page.
 */
export function ErrorBoundary() {
  const error = useRouteError();
  if (!isRouteErrorResponse(error) || error.status >= 500) throw error;
  const detail = typeof error.data === "string" ? error.data : (error.data as { message?: string } | null)?.message;
  return (
    <div className="space-y-6">
      <h1 className="text-2xl font-semibold">Search</h1>
      <div role="alert">
        <EmptyState
          title={error.status === 404 ? "That folder cannot be searched" : "This search has a parameter that is not valid"}
          action={<ButtonLink to="/search">Start a new search</ButtonLink>}
        >
          {detail ?? "Check the address, or start again from the search box."}
        </EmptyState>
      </div>
    </div>
  );
}
