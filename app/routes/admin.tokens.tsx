import { Card } from "~/components/ui/card";
import { redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { AdminHeader } from "~/components/admin/admin-nav";
import { FormMessage } from "~/components/field";
import { RevocableTable, RevokeForm } from "~/components/revocable-table";
import { expiryText, lastUseText } from "~/components/tokens/token-use";
import { auditActor } from "~/domain/audit/audit.server";
import { ADMIN_TOKENS_SHOWN, listAllTokens, revokeToken } from "~/domain/tokens/tokens.server";
import { field, parseForm, parseQuery } from "~/route-helpers/forms.server";
import { requireAdmin } from "~/route-helpers/guards.server";
import { actionFailure } from "~/route-helpers/http.server";
import { Button } from "~/components/ui/button";

export const meta: MetaFunction = () => [{ title: "Access tokens · Admin · Coffer" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { services } = context;
  const admin = await requireAdmin(services, request);
  const { user, done } = parseQuery(request, z.object({ user: field.hint(254), done: field.hint(40) }));
  const tokens = await listAllTokens(services, admin, user ?? "");
  return {
    filter: user ?? "",
    shown: ADMIN_TOKENS_SHOWN,
    done: done === "revoked" ? "The token was revoked. It no longer works." : null,
    tokens: tokens.map((token) => ({
      id: token.id,
      name: token.name,
      scopes: token.scopes,
      user: token.user,
      expired: token.expired,
      createdAt: token.createdAt.toISOString(),
      expiresAt: token.expiresAt?.toISOString() ?? null,
      lastUsedAt: token.lastUsedAt?.toISOString() ?? null,
      lastUsedIp: token.lastUsedIp,
    })),
  };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const { services, clientIp } = context;
  const admin = await requireAdmin(services, request);
  try {
    const { token, filter } = await parseForm(
      request,
      z.object({ intent: field.oneOf(["revoke"]), token: field.text(100), filter: field.text(254) }),
    );
    await revokeToken(services, admin, token, auditActor(request, clientIp, admin));
    const query = new URLSearchParams({ done: "revoked", ...(filter ? { user: filter } : {}) });
    return redirect(`/admin/tokens?${query}`);
  } catch (error) {
    return actionFailure(error);
  }
}

export default function AdminTokens() {
  const { filter, shown, done, tokens } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  return (
    <div className="space-y-6">
      <AdminHeader title="Access tokens" current="/admin/tokens">
        <p className="mt-1 text-sm text-text-muted">
          Everyone's personal access tokens that are not revoked, newest first (at most {shown}). Revoking one stops it at once.
        </p>
      </AdminHeader>
      <FormMessage message={done} tone="success" />
      {result && !result.ok ? <FormMessage message={result.message} /> : null}
      <Form method="get" role="search" className="flex flex-wrap items-end gap-2">
        <div>
          <label htmlFor="user-filter" className="block text-sm font-medium">
            User's email contains
          </label>
          <input id="user-filter" name="user" type="search" defaultValue={filter} maxLength={254} className="input mt-1" />
        </div>
        <Button variant="secondary" type="submit">
          Filter
        </Button>
      </Form>
      <Card as="section" padding="none" className="overflow-hidden" aria-labelledby="all-tokens-heading">
        <h2 id="all-tokens-heading" className="sr-only">
          Tokens
        </h2>
        {tokens.length === 0 ? (
          <p className="p-6 text-sm text-text-muted">
            {filter
              ? "No tokens of matching users."
              : "Nobody has an access token. People create them in their settings for scripts and programs that use the API."}
          </p>
        ) : (
          <RevocableTable
            columns={[
              { label: "User" },
              { label: "Name" },
              { label: "Scopes", hideBelow: "sm" },
              { label: "Expires", hideBelow: "md" },
              { label: "Last used", hideBelow: "md" },
              { label: "Actions" },
            ]}
            rows={tokens.map((token) => ({
              key: token.id,
              cells: [
                token.user.email,
                token.name,
                token.scopes.join(", "),
                expiryText(token),
                lastUseText(token),
                <RevokeForm
                  key="revoke"
                  intent="revoke"
                  name="token"
                  value={token.id}
                  label="Revoke"
                  which={`${token.name} of ${token.user.email}`}
                  hidden={{ filter }}
                />,
              ],
            }))}
          />
        )}
      </Card>
    </div>
  );
}
