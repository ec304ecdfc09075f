import { Card } from "~/components/ui/card";
import type { ActionFunctionArgs, HeadersFunction, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { FormMessage } from "~/components/field";
import { Button } from "~/components/ui/button";
import { checkUnsubscribeToken, unsubscribe } from "~/domain/events/unsubscribe.server";
import { actionFailure, loaderFailure } from "~/route-helpers/http.server";

/**
 * One-click unsubscribe (RFC 8058, docs/events.md): the link of a notification email's
 * List-Unsubscribe header. GET shows what it turns off and a button, and changes nothing (mail
 * scanners follow links); POST turns it off. No login: the signed token is the authority. The
 * POST is exempt from the Origin and CSRF checks on purpose (app/server/origin-check.server.ts):
 * RFC 8058 has the mail provider's server post `List-Unsubscribe=One-Click` with no cookie, no
 * Origin of ours and no form token, and a forged cross-site POST can do no more than the token's
 * owner asked for: turn one kind of email off.
 */

export const meta: MetaFunction = () => [{ title: "Unsubscribe · Coffer" }, { name: "robots", content: "noindex" }];

// The token is in the URL: keep it out of Referer headers and caches.
export const headers: HeadersFunction = () => ({ "Referrer-Policy": "no-referrer", "Cache-Control": "no-store" });

export async function loader({ params, context }: LoaderFunctionArgs) {
  try {
    return { label: checkUnsubscribeToken(context.services, params.unsubscribeToken ?? "").label };
  } catch (error) {
    loaderFailure(error);
  }
}

export async function action({ params, context }: ActionFunctionArgs) {
  try {
    const { label } = await unsubscribe(context.services, params.unsubscribeToken ?? "");
    return { ok: true as const, label, message: null, fieldErrors: {} as Record<string, string> };
  } catch (error) {
    return actionFailure(error, { label: null });
  }
}

export default function Unsubscribe() {
  const { label } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  return (
    <Card padding="none" className="mx-auto max-w-md space-y-4 p-6">
      <h1 className="text-2xl font-semibold">Unsubscribe</h1>
      {result?.ok ? (
        <div className="space-y-3">
          <FormMessage tone="success" message={`Done: “${result.label}” is now off. You get no more notifications of this kind.`} />
          <p className="text-sm">
            You can turn it on again in <Link to="/settings/notifications">notification settings</Link>.
          </p>
        </div>
      ) : (
        <>
          {result && !result.ok ? <FormMessage message={result.message} /> : null}
          <p>
            Stop notifications about: <strong>{label}</strong>?
          </p>
          <p className="text-sm text-text-muted">
            This turns the kind off, in emails and in the app. Nothing changes until you press the button.
          </p>
          <Form method="post">
            <input type="hidden" name="List-Unsubscribe" value="One-Click" />
            <Button variant="primary" type="submit">
              Unsubscribe
            </Button>
          </Form>
        </>
      )}
    </Card>
  );
}
