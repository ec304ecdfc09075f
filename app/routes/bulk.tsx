import { randomBytes } from "node:crypto";
import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { FormMessage } from "~/components/field";
import { FileIcon, FolderIcon } from "~/components/icons";
import { parseSelection, readableSelection, runBulk, type BulkOperation, type BulkOutcome } from "~/domain/files/bulk.server";
import { destinationFolders } from "~/domain/files/folders.server";
import { isAppError } from "~/domain/errors";
import { parsePolicy } from "~/domain/files/operations.server";
import { requireUser } from "~/domain/accounts/sessions.server";
import { CsrfInput } from "~/components/csrf-input";
import type { Services } from "~/services/index.server";

export const meta: MetaFunction = () => [{ title: "Selected items · Coffer" }];

/** Where to go back to: a folder page or the trash (nothing else, so it is never an open redirect). */
function safeReturn(raw: unknown): string {
  const value = typeof raw === "string" ? raw : "";
  return /^\/(files(\/[A-Za-z0-9_-]{1,100})?|trash)$/.test(value) ? value : "/files";
}

/** How long the summary of a bulk action stays available at its result address. */
const RESULT_TTL_MS = 30 * 60 * 1000;
type StoredResult = { outcome: BulkOutcome; back: string; destinationId: string | null };
const resultKey = (userId: string, token: string) => `bulk-result:${userId}:${token}`;

/** Keeps the summary in the cache (shared by all instances), for this user only. */
async function storeResult(services: Services, userId: string, result: StoredResult): Promise<string> {
  const token = randomBytes(12).toString("base64url");
  await services.cache.set(resultKey(userId, token), JSON.stringify(result), RESULT_TTL_MS);
  return token;
}

async function loadResult(services: Services, userId: string, token: string): Promise<StoredResult | null> {
  if (!/^[A-Za-z0-9_-]{16}$/.test(token)) return null;
  const raw = await services.cache.get(resultKey(userId, token));
  return raw ? (JSON.parse(raw) as StoredResult) : null;
}

/**
 * GET /bulk?result=<token>: the summary of a bulk action, after its POST redirected here (so a
 * reload shows the summary again instead of repeating the action).
 * GET /bulk?intent=move|copy&item=…: the no-JavaScript step choosing a destination and what to do
 * on a name clash for the selected items.
 */
export async function loader({ request, context }: LoaderFunctionArgs) {
  const { services } = context;
  const user = await requireUser(services, request);
  const url = new URL(request.url);
  const back = safeReturn(url.searchParams.get("from"));
  const token = url.searchParams.get("result");
  if (token !== null) {
    const stored = await loadResult(services, user.id, token);
    return data(
      { intent: "move" as const, back: stored?.back ?? back, error: null, items: [], missing: 0, destinations: { folders: [], truncated: false }, result: stored, expired: !stored },
      { status: stored ? 200 : 404 },
    );
  }
  const rawIntent = url.searchParams.get("intent");
  if (rawIntent === "zip") return redirect(`/bulk/zip?${url.searchParams.toString()}`);
  // Trashing asks first: the selection form is a GET form (its other buttons only choose), and
  // anything that changes data is a POST from a page of ours, carrying its CSRF token.
  const intent: "move" | "copy" | "trash" = rawIntent === "copy" ? "copy" : rawIntent === "trash" ? "trash" : "move";
  let refs;
  try {
    refs = parseSelection(url.searchParams.getAll("item"));
  } catch (error) {
    if (!isAppError(error)) throw error;
    // After a POST (no query) this loader runs too: only a real GET step is a bad request.
    const status = rawIntent ? 400 : 200;
    return data({ intent, back, error: error.message, items: [], missing: 0, destinations: { folders: [], truncated: false }, result: null, expired: false }, { status });
  }
  const [{ items, missing }, destinations] = await Promise.all([
    readableSelection(services, user, refs),
    intent === "trash" ? Promise.resolve({ folders: [], truncated: false }) : destinationFolders(services, user.id),
  ]);
  return {
    intent,
    back,
    error: items.length === 0 ? "None of the selected items were found." : null,
    items: items.map((item) => ({ kind: item.kind, id: item.id, name: item.name })),
    missing,
    destinations,
    result: null,
    expired: false,
  };
}

type ActionResult = { ok: false; message: string; back: string };

/**
 * POST /bulk: intent=move|copy|trash|restore with repeated item fields; redirects (303) to the
 * per-item summary. A refused request (nothing changed) answers directly with its message, and
 * so does a fetcher post with respond=inline (drag and drop).
 */
export async function action({ request, context }: ActionFunctionArgs) {
  const { services } = context;
  const user = await requireUser(services, request);
  const form = await request.formData();
  const back = safeReturn(form.get("from"));
  const intent = String(form.get("intent") ?? "");
  try {
    if (!["move", "copy", "trash", "restore"].includes(intent)) {
      return data<ActionResult>({ ok: false, message: "Choose what to do with the selected items.", back }, { status: 400 });
    }
    const refs = parseSelection(form.getAll("item"));
    const operation = intent as BulkOperation;
    const destination = form.get("destination");
    const outcome = await runBulk(services, user, operation, refs, {
      destinationId: typeof destination === "string" ? destination : undefined,
      policy: operation === "move" || operation === "copy" ? parsePolicy(form.get("policy") || "cancel") : undefined,
    });
    // A drag-and-drop move posts from a fetcher (no history entry to resubmit): it gets the summary itself.
    if (form.get("respond") === "inline") return data({ ok: true as const, outcome, back });
    const destinationId = typeof destination === "string" && (operation === "move" || operation === "copy") ? destination : null;
    const token = await storeResult(services, user.id, { outcome, back, destinationId });
    return redirect(`/bulk?result=${token}`, 303);
  } catch (error) {
    if (isAppError(error)) return data<ActionResult>({ ok: false, message: error.message, back }, { status: error.status });
    throw error;
  }
}

export default function BulkPage() {
  const page = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const navigation = useNavigation();
  const busy = navigation.state === "submitting";

  const inline = result && result.ok ? { ...result, destinationId: null } : null;
  const shown: ({ ok: true } & StoredResult) | ActionResult | null = inline ?? (result && !result.ok ? result : null) ?? (page.result ? { ok: true, ...page.result } : null);
  if (page.expired) {
    return (
      <div className="mx-auto max-w-2xl space-y-4">
        <h1 className="text-2xl font-semibold">This summary is no longer available</h1>
        <p className="text-sm text-slate-700">Summaries of actions on selected items are kept for 30 minutes. Open the folder to see how things are now.</p>
        <p>
          <Link to="/files" className="text-blue-800 hover:underline">
            Go to My files
          </Link>
        </p>
      </div>
    );
  }
  if (shown) {
    return (
      <div className="mx-auto max-w-2xl space-y-4">
        <h1 className="text-2xl font-semibold">{shown.ok ? "Done" : "Nothing was changed"}</h1>
        <FormMessage message={shown.ok ? shown.outcome.message : shown.message} tone={shown.ok && shown.outcome.skipped === 0 ? "success" : "error"} />
        {shown.ok && shown.outcome.results.length > 0 ? (
          <ul className="card divide-y divide-slate-100 text-sm" data-testid="bulk-results">
            {shown.outcome.results.map((item) => (
              <li key={`${item.kind}:${item.id}`} className="flex items-center justify-between gap-3 px-4 py-2">
                <span className="wrap-anywhere">{item.name ?? "Unknown item"}</span>
                <span className={item.ok ? "text-green-800" : "text-red-800"}>{item.ok ? "Done" : `Skipped: ${item.reason}`}</span>
              </li>
            ))}
          </ul>
        ) : null}
        {shown.ok ? <RetryConflicts result={shown} /> : null}
        <p>
          <Link to={shown.back} className="text-blue-800 hover:underline">
            {shown.back === "/trash" ? "Back to the trash" : "Back to the folder"}
          </Link>
        </p>
      </div>
    );
  }

  if (page.intent === "trash") return <ConfirmTrash page={page} busy={busy} />;
  const verb = page.intent === "copy" ? "Copy" : "Move";
  return (
    <div className="mx-auto max-w-2xl space-y-4">
      <h1 className="text-2xl font-semibold">{`${verb} ${page.items.length} ${page.items.length === 1 ? "item" : "items"}`}</h1>
      <FormMessage message={page.error ?? undefined} tone="error" />
      <MissingNote missing={page.missing} />
      {page.items.length > 0 ? (
        <Form method="post" action="/bulk" className="space-y-4">
          <CsrfInput />
          <input type="hidden" name="intent" value={page.intent} />
          <input type="hidden" name="from" value={page.back} />
          <SelectedItems items={page.items} />
          <div>
            <label htmlFor="bulk-destination" className="label">
              Destination folder
            </label>
            <select id="bulk-destination" name="destination" required className="input">
              {page.destinations.folders.map((folder) => (
                <option key={folder.id} value={folder.id}>
                  {folder.label}
                </option>
              ))}
            </select>
            {page.destinations.truncated ? <p className="text-sm text-slate-600">Only the first folders are listed.</p> : null}
          </div>
          <div>
            <label htmlFor="bulk-policy" className="label">
              If a name is taken
            </label>
            <select id="bulk-policy" name="policy" defaultValue="cancel" className="input">
              <option value="cancel">Skip that item</option>
              <option value="keep-both">Keep both</option>
              <option value="replace">Replace (keep the old one as a version)</option>
            </select>
          </div>
          <div className="flex gap-3">
            <button type="submit" className="btn-primary" disabled={busy}>
              {busy ? `${verb === "Copy" ? "Copying" : "Moving"}…` : `${verb} here`}
            </button>
            <Link to={page.back} className="btn-secondary">
              Cancel
            </Link>
          </div>
        </Form>
      ) : (
        <p>
          <Link to={page.back} className="text-blue-800 hover:underline">
            Back
          </Link>
        </p>
      )}
    </div>
  );
}

/** The selection, named, each posted back as an `item` field. */
function SelectedItems({ items }: { items: Array<{ kind: string; id: string; name: string }> }) {
  return (
    <ul className="card divide-y divide-slate-100 text-sm" aria-label="Selected items">
      {items.map((item) => (
        <li key={`${item.kind}:${item.id}`} className="flex items-center gap-2 px-4 py-2">
          <input type="hidden" name="item" value={`${item.kind}:${item.id}`} />
          {item.kind === "folder" ? <FolderIcon /> : <FileIcon />}
          <span className="wrap-anywhere">{item.name}</span>
        </li>
      ))}
    </ul>
  );
}

function MissingNote({ missing }: { missing: number }) {
  if (missing === 0) return null;
  return <p className="text-sm text-slate-700">{`${missing} selected ${missing === 1 ? "item was" : "items were"} not found and will be skipped.`}</p>;
}

function ConfirmTrash({ page, busy }: { page: { items: Array<{ kind: string; id: string; name: string }>; back: string; error: string | null; missing: number }; busy: boolean }) {
  const count = `${page.items.length} ${page.items.length === 1 ? "item" : "items"}`;
  return (
    <div className="mx-auto max-w-2xl space-y-4">
      <h1 className="text-2xl font-semibold">{`Move ${count} to the trash?`}</h1>
      <FormMessage message={page.error ?? undefined} tone="error" />
      <MissingNote missing={page.missing} />
      {page.items.length > 0 ? (
        <Form method="post" action="/bulk" className="space-y-4">
          <CsrfInput />
          <input type="hidden" name="intent" value="trash" />
          <input type="hidden" name="from" value={page.back} />
          <p className="text-sm text-slate-700">You can restore them from the trash until they expire.</p>
          <SelectedItems items={page.items} />
          <div className="flex gap-3">
            <button type="submit" className="btn-primary bg-red-700 hover:bg-red-800" disabled={busy}>
              {busy ? "Moving to the trash…" : "Move to the trash"}
            </button>
            <Link to={page.back} className="btn-secondary">
              Cancel
            </Link>
          </div>
        </Form>
      ) : (
        <p>
          <Link to={page.back} className="text-blue-800 hover:underline">
            Back
          </Link>
        </p>
      )}
    </div>
  );
}

/** Items skipped because their name was taken can be tried again with another policy (a plain form). */
function RetryConflicts({ result }: { result: StoredResult }) {
  const { outcome, destinationId, back } = result;
  const conflicts = outcome.results.filter((item) => !item.ok && item.status === 409);
  if (!destinationId || conflicts.length === 0 || (outcome.operation !== "move" && outcome.operation !== "copy")) return null;
  return (
    <Form method="post" action="/bulk" className="card space-y-3 p-4">
      <CsrfInput />
      <h2 className="text-lg font-semibold">{`Try the ${conflicts.length === 1 ? "skipped item" : `${conflicts.length} skipped items`} again`}</h2>
      <input type="hidden" name="intent" value={outcome.operation} />
      <input type="hidden" name="from" value={back} />
      <input type="hidden" name="destination" value={destinationId} />
      {conflicts.map((item) => (
        <input key={`${item.kind}:${item.id}`} type="hidden" name="item" value={`${item.kind}:${item.id}`} />
      ))}
      <div>
        <label htmlFor="retry-policy" className="label">
          If a name is taken
        </label>
        <select id="retry-policy" name="policy" defaultValue="keep-both" className="input">
          <option value="keep-both">Keep both</option>
          <option value="replace">Replace (keep the old one as a version)</option>
        </select>
      </div>
      <button type="submit" className="btn-primary">
        {outcome.operation === "copy" ? "Copy again" : "Move again"}
      </button>
    </Form>
  );
}
