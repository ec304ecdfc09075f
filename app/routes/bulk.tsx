import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { ChooseDestination, ConfirmTrash } from "~/components/bulk/bulk-forms";
import { BulkSummary, BulkSummaryExpired, type ShownBulkResult } from "~/components/bulk/bulk-summary";
import { loadBulkResult, storeBulkResult } from "~/domain/files/bulk-results.server";
import type { BulkActionData } from "~/domain/files/bulk-action";
import { field, formValues, parseFormData, parseQuery, readForm } from "~/route-helpers/forms.server";
import { z } from "zod";
import { parseSelection, readableSelection, runBulk, type BulkOperation } from "~/domain/files/bulk.server";
import { destinationFolders } from "~/domain/files/folder-tree.server";
import { isAppError, ValidationError } from "~/domain/errors";
import { parsePolicy } from "~/domain/files/operations.server";
import { requireUser } from "~/route-helpers/guards.server";

export const meta: MetaFunction = () => [{ title: "Selected items · Coffer" }];

/** Where to go back to: a folder page or the trash (nothing else, so it is never an open redirect). */
function safeReturn(raw: unknown): string {
  const value = typeof raw === "string" ? raw : "";
  return /^\/(files(\/[A-Za-z0-9_-]{1,100})?|trash)$/.test(value) ? value : "/files";
}

/** The GET steps' parameters: a summary's token, or a selection with what to do and where from. */
const bulkQuery = z.object({ from: field.hint(), result: field.hint(), intent: field.hint(20), item: field.repeated(z.string()) });

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
  const query = parseQuery(request, bulkQuery);
  const back = safeReturn(query.from);
  const token = query.result;
  if (token !== undefined) {
    const stored = await loadBulkResult(services, user.id, token);
    return data(
      {
        intent: "move" as const,
        back: stored?.back ?? back,
        error: null,
        items: [],
        missing: 0,
        destinations: { folders: [], truncated: false },
        result: stored,
        expired: !stored,
      },
      { status: stored ? 200 : 404 },
    );
  }
  const rawIntent = query.intent;
  if (rawIntent === "zip") return redirect(`/bulk/zip?${url.searchParams.toString()}`);
  // Trashing asks first: the selection form is a GET form (its other buttons only choose), and
  // anything that changes data is a POST from a page of ours, carrying its CSRF token.
  const intent: "move" | "copy" | "trash" = rawIntent === "copy" ? "copy" : rawIntent === "trash" ? "trash" : "move";
  let refs;
  try {
    refs = parseSelection(query.item);
  } catch (error) {
    if (!isAppError(error)) throw error;
    // After a POST (no query) this loader runs too: only a real GET step is a bad request.
    const status = rawIntent ? 400 : 200;
    return data(
      {
        intent,
        back,
        error: error.message,
        items: [],
        missing: 0,
        destinations: { folders: [], truncated: false },
        result: null,
        expired: false,
      },
      { status },
    );
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

type ActionResult = Extract<BulkActionData, { ok: false }>;

const bulkForm = z.object({
  intent: field.oneOf(["move", "copy", "trash", "restore"], "Choose what to do with the selected items."),
  item: field.repeated(z.string()),
  destination: field.optionalText(300),
  policy: field.hint(),
  respond: field.hint(),
});

/**
 * POST /bulk: intent=move|copy|trash|restore with repeated item fields; redirects (303) to the
 * per-item summary. A refused request (nothing changed) answers directly with its message, and
 * so does a fetcher post with respond=inline (drag and drop).
 */
export async function action({ request, context }: ActionFunctionArgs) {
  const { services } = context;
  const user = await requireUser(services, request);
  const form = await readForm(request);
  const back = safeReturn(formValues(form).from);
  try {
    const fields = parseFormData(form, bulkForm);
    const operation: BulkOperation = fields.intent;
    // "Restore selected" with nothing ticked (no JavaScript to disable it): say what to do.
    if (operation === "restore" && fields.item.length === 0) {
      throw new ValidationError("Nothing was selected. Tick the items you want back in the trash, then choose “Restore selected”.", {
        item: "Select at least one item.",
      });
    }
    const refs = parseSelection(fields.item);
    const outcome = await runBulk(services, user, operation, refs, {
      destinationId: fields.destination,
      policy: operation === "move" || operation === "copy" ? parsePolicy(fields.policy || "cancel") : undefined,
    });
    // A drag-and-drop move posts from a fetcher (no history entry to resubmit): it gets the summary itself.
    if (fields.respond === "inline") return data<BulkActionData>({ ok: true, outcome, back });
    const destinationId = fields.destination !== undefined && (operation === "move" || operation === "copy") ? fields.destination : null;
    const token = await storeBulkResult(services, user.id, { outcome, back, destinationId });
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

  const inline = result?.ok ? { ...result, destinationId: null } : null;
  const shown: ShownBulkResult | null =
    inline ?? (result && !result.ok ? result : null) ?? (page.result ? { ok: true, ...page.result } : null);
  if (page.expired) return <BulkSummaryExpired />;
  if (shown) return <BulkSummary shown={shown} />;
  if (page.intent === "trash") return <ConfirmTrash page={page} busy={busy} />;
  return <ChooseDestination page={{ ...page, intent: page.intent }} busy={busy} />;
}
