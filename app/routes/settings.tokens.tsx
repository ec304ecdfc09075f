import { Card } from "~/components/ui/card";
import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { CsrfInput } from "~/components/csrf-input";
import { Field, FormMessage } from "~/components/field";
import { RevocableTable, RevokeForm } from "~/components/revocable-table";
import { expiryText, lastUseText } from "~/components/tokens/token-use";
import { getSettings } from "~/domain/admin/settings.server";
import { auditActor } from "~/domain/audit/audit.server";
import { ValidationError } from "~/domain/errors";
import { TOKEN_SCOPE_LABELS, TOKEN_SCOPES } from "~/domain/tokens/scopes";
import { createToken, listTokens, revokeToken } from "~/domain/tokens/tokens.server";
import { formatDate } from "~/lib/format";
import { field, formValues, parseFormData, parseQuery, readForm } from "~/route-helpers/forms.server";
import { requireUser } from "~/route-helpers/guards.server";
import { actionFailure, retryAfterHeaders } from "~/route-helpers/http.server";
import { Button } from "~/components/ui/button";

export const meta: MetaFunction = () => [{ title: "Access tokens · Settings · Coffer" }];
export const headers = retryAfterHeaders;

const DAY_MS = 24 * 3600 * 1000;
const EXPIRY_CHOICES = ["7", "30", "90", "365", "never"] as const;

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { services } = context;
  const user = await requireUser(services, request);
  const [tokens, settings] = await Promise.all([listTokens(services, user), getSettings(services)]);
  const { done } = parseQuery(request, z.object({ done: field.hint(40) }));
  const maxDays = settings.tokensMustExpire ? settings.tokenMaxDays : null;
  return {
    done: done === "revoked" ? "The token was revoked. It no longer works." : null,
    isAdmin: user.role === "ADMIN",
    expiryChoices: EXPIRY_CHOICES.filter((choice) => (maxDays === null ? true : choice !== "never" && Number(choice) <= maxDays)),
    maxDays,
    tokens: tokens.map((token) => ({
      ...token,
      createdAt: token.createdAt.toISOString(),
      expiresAt: token.expiresAt?.toISOString() ?? null,
      lastUsedAt: token.lastUsedAt?.toISOString() ?? null,
      revokedAt: null,
    })),
  };
}

const tokenForm = z.object({
  intent: field.oneOf(["create", "revoke"]),
  name: field.text(1_000),
  scopes: field.repeated(z.string().max(100)),
  expiry: field.text(20),
  token: field.text(100),
});

export async function action({ request, context }: ActionFunctionArgs) {
  const { services, clientIp } = context;
  const user = await requireUser(services, request);
  const actor = auditActor(request, clientIp, user);
  try {
    const form = await readForm(request);
    const fields = parseFormData(form, tokenForm);
    if (fields.intent === "revoke") {
      await revokeToken(services, { id: user.id, role: "USER" }, fields.token, actor);
      return redirect("/settings/tokens?done=revoked");
    }
    if (!(EXPIRY_CHOICES as readonly string[]).includes(fields.expiry)) {
      throw new ValidationError("Please correct the highlighted fields.", { expiry: "Choose when the token expires." });
    }
    const expiresAt = fields.expiry === "never" ? null : new Date(Date.now() + Number(fields.expiry) * DAY_MS);
    const { secret, token } = await createToken(services, user, { name: fields.name, scopes: fields.scopes, expiresAt }, actor);
    // The secret goes out in this answer only: never in a URL, never again.
    return data(
      { ok: true as const, secret, name: token.name, message: null, fieldErrors: {} as Record<string, string>, values: formValues(form) },
      { headers: { "Cache-Control": "no-store" } },
    );
  } catch (error) {
    return actionFailure(error, { secret: null, name: null });
  }
}

export default function TokenSettings() {
  const { done, isAdmin, expiryChoices, maxDays, tokens } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const errors = result && !result.ok ? result.fieldErrors : {};
  return (
    <div className="space-y-6">
      <div>
        <h1 className="text-2xl font-semibold">Access tokens</h1>
        <p className="mt-1 text-sm text-text-muted">
          Tokens let scripts and other programs use Coffer's API and upload files for you, without your password. Give each program its own
          token with only the scopes it needs, and revoke it when you stop using it.
        </p>
      </div>
      <FormMessage message={done} tone="success" />
      {result && !result.ok ? <FormMessage message={result.message} /> : null}
      {result?.ok && result.secret ? (
        <Card as="section" padding="none" className="space-y-3 border-success-border p-6" aria-labelledby="new-token-heading">
          <h2 id="new-token-heading" className="text-lg font-semibold">
            Your new token “{result.name}”
          </h2>
          <p className="text-sm text-text-muted">Copy it now: it is shown only this once. Coffer keeps no copy it could show you again.</p>
          <label htmlFor="new-token" className="sr-only">
            New token
          </label>
          <input
            id="new-token"
            readOnly
            value={result.secret}
            className="input w-full font-mono text-sm"
            onFocus={(event) => event.currentTarget.select()}
          />
          <Button variant="secondary" type="button" onClick={() => void navigator.clipboard?.writeText(result.secret ?? "")}>
            Copy token
          </Button>
        </Card>
      ) : null}

      <Card as="section" padding="none" className="space-y-4 p-6" aria-labelledby="create-heading">
        <h2 id="create-heading" className="text-lg font-semibold">
          Create a token
        </h2>
        <Form method="post" className="space-y-4">
          <CsrfInput />
          <input type="hidden" name="intent" value="create" />
          <Field label="Name" name="name" required maxLength={100} error={errors.name} hint="What will use it, e.g. “backup script”." />
          <fieldset>
            <legend className="text-sm font-medium">Scopes</legend>
            {errors.scopes ? (
              <p className="text-sm text-danger" id="scopes-error">
                {errors.scopes}
              </p>
            ) : null}
            <div className="mt-2 space-y-1">
              {TOKEN_SCOPES.filter((scope) => scope !== "admin" || isAdmin).map((scope) => (
                <label key={scope} className="flex items-start gap-2 text-sm">
                  <input type="checkbox" name="scopes" value={scope} className="mt-1" />
                  <span>
                    <code>{scope}</code> — {TOKEN_SCOPE_LABELS[scope]}
                  </span>
                </label>
              ))}
            </div>
          </fieldset>
          <div>
            <label htmlFor="expiry" className="block text-sm font-medium">
              Expires
            </label>
            <select id="expiry" name="expiry" className="input mt-1" defaultValue={expiryChoices.includes("30") ? "30" : expiryChoices[0]}>
              {expiryChoices.map((choice) => (
                <option key={choice} value={choice}>
                  {choice === "never" ? "Never" : `In ${choice} days`}
                </option>
              ))}
            </select>
            {maxDays !== null ? <p className="mt-1 text-sm text-text-muted">Tokens here must expire within {maxDays} days.</p> : null}
            {errors.expiry || errors.expiresAt ? <p className="mt-1 text-sm text-danger">{errors.expiry ?? errors.expiresAt}</p> : null}
          </div>
          <Button variant="primary" type="submit">
            Create token
          </Button>
        </Form>
      </Card>

      <Card as="section" padding="none" className="overflow-hidden" aria-labelledby="tokens-heading">
        <h2 id="tokens-heading" className="p-6 pb-4 text-lg font-semibold">
          Your tokens
        </h2>
        {tokens.length === 0 ? (
          <p className="px-6 pb-6 text-sm text-text-muted">
            You have no tokens. Create one above when a script or program needs to reach your files.
          </p>
        ) : (
          <RevocableTable
            columns={[
              { label: "Name" },
              { label: "Scopes", hideBelow: "sm" },
              { label: "Created", hideBelow: "md", tone: "text-text-muted" },
              { label: "Expires", tone: "text-text-muted" },
              { label: "Last used", hideBelow: "sm", tone: "text-text-muted" },
              { label: "Actions" },
            ]}
            rows={tokens.map((token) => ({
              key: token.id,
              cells: [
                token.name,
                token.scopes.join(", "),
                formatDate(token.createdAt),
                expiryText(token),
                lastUseText(token),
                <RevokeForm key="revoke" intent="revoke" name="token" value={token.id} label="Revoke" which={token.name} />,
              ],
            }))}
          />
        )}
      </Card>
    </div>
  );
}
