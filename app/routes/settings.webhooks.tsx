import { Card } from "~/components/ui/card";
import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { CsrfInput } from "~/components/csrf-input";
import { Field, FormMessage } from "~/components/field";
import { Button } from "~/components/ui/button";
import { auditActor } from "~/domain/audit/audit.server";
import {
  createWebhook,
  deleteWebhook,
  listWebhooks,
  MAX_URL_LENGTH,
  rotateWebhookSecret,
  sendTestEvent,
  setWebhookEnabled,
  webhookEventTypesFor,
} from "~/domain/events/webhooks.server";
import { formatDate } from "~/lib/format";
import { field, formValues, parseFormData, parseQuery, readForm } from "~/route-helpers/forms.server";
import { requireUser } from "~/route-helpers/guards.server";
import { actionFailure, retryAfterHeaders } from "~/route-helpers/http.server";

export const meta: MetaFunction = () => [{ title: "Webhooks · Settings · Coffer" }];
export const headers = retryAfterHeaders;

const DONE: Record<string, string> = {
  enabled: "The webhook is on again. Deliveries that were waiting are sent.",
  disabled: "The webhook is off. Nothing is sent to it until you turn it on.",
  deleted: "The webhook was deleted.",
  tested: "A test event is on its way. Its delivery appears below in a few seconds (reload the page).",
};

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { services } = context;
  const user = await requireUser(services, request);
  const { done } = parseQuery(request, z.object({ done: field.hint(40) }));
  return {
    done: done ? (DONE[done] ?? null) : null,
    isAdmin: user.role === "ADMIN",
    eventTypes: webhookEventTypesFor(user.role),
    maxUrlLength: MAX_URL_LENGTH,
    webhooks: await listWebhooks(services, user),
  };
}

const webhookForm = z.object({
  intent: field.oneOf(["create", "enable", "disable", "delete", "rotate", "test"]),
  url: field.text(MAX_URL_LENGTH + 1),
  eventTypes: field.repeated(z.string().max(100)),
  scope: field.text(20),
  webhook: field.text(100),
});

export async function action({ request, context }: ActionFunctionArgs) {
  const { services, clientIp } = context;
  const user = await requireUser(services, request);
  const audit = auditActor(request, clientIp, user);
  try {
    const form = await readForm(request);
    const fields = parseFormData(form, webhookForm);
    const actor = { id: user.id, role: user.role };
    switch (fields.intent) {
      case "enable":
      case "disable":
        await setWebhookEnabled(services, actor, fields.webhook, fields.intent === "enable", audit);
        return redirect(`/settings/webhooks?done=${fields.intent}d`);
      case "delete":
        await deleteWebhook(services, actor, fields.webhook, audit);
        return redirect("/settings/webhooks?done=deleted");
      case "test":
        await sendTestEvent(services, actor, fields.webhook);
        return redirect("/settings/webhooks?done=tested");
      case "rotate": {
        const secret = await rotateWebhookSecret(services, actor, fields.webhook, audit);
        return secretAnswer(secret, "The webhook has a new secret. The old one no longer signs anything.", form);
      }
      case "create": {
        const scope = fields.scope === "instance" ? "instance" : "user";
        const { secret } = await createWebhook(services, actor, { url: fields.url, eventTypes: fields.eventTypes, scope }, audit);
        return secretAnswer(secret, "The webhook was added.", form);
      }
    }
  } catch (error) {
    return actionFailure(error, { secret: null, heading: null });
  }
}

/** The secret goes out in this answer only: never in a URL, never again. */
function secretAnswer(secret: string, heading: string, form: FormData) {
  return data(
    { ok: true as const, secret, heading, message: null, fieldErrors: {} as Record<string, string>, values: formValues(form) },
    { headers: { "Cache-Control": "no-store" } },
  );
}

/** The body as sent, indented for reading when it is JSON (it always is, unless cut short). */
function prettyJson(body: string): string {
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}

function statusText(delivery: { status: string; responseStatus: number | null; error: string | null }): string {
  const answer = delivery.responseStatus !== null ? `HTTP ${delivery.responseStatus}` : (delivery.error ?? "no answer");
  switch (delivery.status) {
    case "delivered":
      return `Delivered (${answer})`;
    case "failed":
      return `Failed for good (${answer})`;
    case "sending":
      return "Sending";
    default:
      return delivery.responseStatus === null && !delivery.error ? "Waiting" : `Retrying (${answer})`;
  }
}

function RowAction({ intent, webhook, label, url }: { intent: string; webhook: string; label: string; url: string }) {
  return (
    <Form method="post">
      <CsrfInput />
      <input type="hidden" name="intent" value={intent} />
      <input type="hidden" name="webhook" value={webhook} />
      <Button type="submit" variant="secondary">
        {label}
        <span className="sr-only"> for {url}</span>
      </Button>
    </Form>
  );
}

export default function WebhookSettings() {
  const { done, isAdmin, eventTypes, maxUrlLength, webhooks } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const errors = result && !result.ok ? result.fieldErrors : {};
  return (
    <div className="space-y-6">
      <div>
        <h1 className="text-2xl font-semibold">Webhooks</h1>
        <p className="mt-1 text-sm text-text-muted">
          Coffer can tell another program when something happens to your files: it sends an HTTPS request, signed with a secret, for each
          event you choose. Coffer's documentation (docs/webhooks.md) shows how to check the signature.
        </p>
      </div>
      <FormMessage message={done} tone="success" />
      {result && !result.ok ? <FormMessage message={result.message} /> : null}
      {result?.ok && result.secret ? (
        <Card as="section" padding="none" className="space-y-3 border-success-border p-6" aria-labelledby="new-secret-heading">
          <h2 id="new-secret-heading" className="text-lg font-semibold">
            {result.heading}
          </h2>
          <p className="text-sm text-text-muted">
            Copy the signing secret now: it is shown only this once. Your receiver uses it to check that requests come from Coffer.
          </p>
          <label htmlFor="new-secret" className="sr-only">
            Signing secret
          </label>
          <input id="new-secret" readOnly value={result.secret} className="input w-full font-mono text-sm" />
        </Card>
      ) : null}

      <Card as="section" padding="none" className="space-y-4 p-6" aria-labelledby="add-heading">
        <h2 id="add-heading" className="text-lg font-semibold">
          Add a webhook
        </h2>
        <Form method="post" className="space-y-4">
          <CsrfInput />
          <input type="hidden" name="intent" value="create" />
          <Field
            label="Address"
            name="url"
            type="url"
            required
            maxLength={maxUrlLength}
            error={errors.url}
            hint="Where to send events, e.g. https://example.com/coffer-events. Private and local network addresses are refused."
          />
          <fieldset>
            <legend className="text-sm font-medium">Events</legend>
            {errors.eventTypes ? <p className="text-sm text-danger">{errors.eventTypes}</p> : null}
            <div className="mt-2 grid gap-1 sm:grid-cols-2">
              {eventTypes.map((type) => (
                <label key={type} className="flex items-center gap-2 text-sm">
                  <input type="checkbox" name="eventTypes" value={type} />
                  <code>{type}</code>
                </label>
              ))}
            </div>
          </fieldset>
          {isAdmin ? (
            <fieldset>
              <legend className="text-sm font-medium">Whose events</legend>
              <label className="mt-2 flex items-center gap-2 text-sm">
                <input type="radio" name="scope" value="user" defaultChecked />
                Mine: what I do, own or am given
              </label>
              <label className="flex items-center gap-2 text-sm">
                <input type="radio" name="scope" value="instance" />
                Everyone's (administrators only)
              </label>
            </fieldset>
          ) : null}
          <Button variant="primary" type="submit">
            Add webhook
          </Button>
        </Form>
      </Card>

      <section aria-labelledby="hooks-heading" className="space-y-4">
        <h2 id="hooks-heading" className="text-lg font-semibold">
          Your webhooks
        </h2>
        {webhooks.length === 0 ? <p className="text-sm text-text-muted">You have no webhooks.</p> : null}
        {webhooks.map((hook) => (
          <Card as="article" padding="none" className="space-y-3 p-6" key={hook.id} aria-label={`Webhook ${hook.url}`}>
            <h3 className="break-all font-mono text-sm font-semibold">{hook.url}</h3>
            <dl className="grid gap-x-4 gap-y-1 text-sm sm:grid-cols-[auto_1fr]">
              <dt className="text-text-muted">State</dt>
              <dd>
                {hook.enabled
                  ? hook.failingSince
                    ? `On, failing since ${formatDate(hook.failingSince)}`
                    : "On"
                  : hook.disabledReason === "failures"
                    ? "Off: turned off after repeated failures"
                    : "Off"}
              </dd>
              <dt className="text-text-muted">Events</dt>
              <dd>{hook.eventTypes.join(", ")}</dd>
              {hook.scope === "instance" ? (
                <>
                  <dt className="text-text-muted">Whose</dt>
                  <dd>Everyone's</dd>
                </>
              ) : null}
              <dt className="text-text-muted">Secret</dt>
              <dd className="font-mono">{hook.secretHint}</dd>
              <dt className="text-text-muted">Added</dt>
              <dd>{formatDate(hook.createdAt)}</dd>
            </dl>
            <div className="flex flex-wrap gap-2">
              {hook.enabled ? (
                <RowAction intent="disable" webhook={hook.id} label="Turn off" url={hook.url} />
              ) : (
                <RowAction intent="enable" webhook={hook.id} label="Turn on" url={hook.url} />
              )}
              {hook.enabled ? <RowAction intent="test" webhook={hook.id} label="Send test event" url={hook.url} /> : null}
              <RowAction intent="rotate" webhook={hook.id} label="New secret" url={hook.url} />
              <RowAction intent="delete" webhook={hook.id} label="Delete" url={hook.url} />
            </div>
            {hook.deliveries.length > 0 ? (
              <table className="w-full text-left text-sm">
                <caption className="py-2 text-left font-medium">Recent deliveries</caption>
                <thead>
                  <tr>
                    <th scope="col" className="px-2 py-1">
                      Event
                    </th>
                    <th scope="col" className="px-2 py-1">
                      Result
                    </th>
                    <th scope="col" className="hidden px-2 py-1 sm:table-cell">
                      Attempts
                    </th>
                    <th scope="col" className="hidden px-2 py-1 sm:table-cell">
                      Took
                    </th>
                    <th scope="col" className="px-2 py-1">
                      When
                    </th>
                  </tr>
                </thead>
                <tbody className="divide-y divide-border">
                  {hook.deliveries.map((delivery) => (
                    <tr key={delivery.id}>
                      <td className="px-2 py-1">
                        <code>{delivery.kind}</code>
                        {delivery.requestBody === null ? null : (
                          <details>
                            <summary className="cursor-pointer text-text-muted">Request body</summary>
                            <pre className="max-h-64 max-w-[60ch] overflow-auto whitespace-pre-wrap break-all text-xs">
                              {prettyJson(delivery.requestBody)}
                            </pre>
                          </details>
                        )}
                      </td>
                      <td className="break-all px-2 py-1">{statusText(delivery)}</td>
                      <td className="hidden px-2 py-1 sm:table-cell">{delivery.attempts}</td>
                      <td className="hidden px-2 py-1 sm:table-cell">{delivery.durationMs === null ? "–" : `${delivery.durationMs} ms`}</td>
                      <td className="px-2 py-1 text-text-muted">
                        {formatDate(delivery.lastAttemptAt ?? delivery.createdAt)}
                        {delivery.nextAttemptAt && delivery.attempts > 0 ? `; next try ${formatDate(delivery.nextAttemptAt)}` : ""}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : (
              <p className="text-sm text-text-muted">No deliveries yet.</p>
            )}
          </Card>
        ))}
      </section>
    </div>
  );
}
