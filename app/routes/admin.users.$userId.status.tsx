import { Card } from "~/components/ui/card";
import { redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { FormMessage } from "~/components/field";
import { ConfirmIdentity } from "~/components/security/confirm-identity";
import { CsrfInput } from "~/components/csrf-input";
import { getManagedUser, restoreDeletedAccount, setUserActive } from "~/domain/admin/admin-users.server";
import { auditActor } from "~/domain/audit/audit.server";
import { reauthMethods } from "~/domain/accounts/reauth.server";
import { requireAdmin } from "~/route-helpers/guards.server";
import { formatDate } from "~/lib/format";
import { actionFailure, loaderFailure } from "~/route-helpers/http.server";
import { z } from "zod";
import { field, parseForm } from "~/route-helpers/forms.server";
import { idParam } from "~/route-helpers/params.server";
import { Button, ButtonLink } from "~/components/ui/button";

export const meta: MetaFunction = () => [{ title: "Account access · Admin · Coffer" }];

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const { services } = context;
  const admin = await requireAdmin(services, request);
  try {
    const user = await getManagedUser(services, admin, idParam(params, "userId", "That account"));
    return {
      user: {
        id: user.id,
        name: user.name,
        email: user.email,
        deactivatedAt: user.deactivatedAt?.toISOString() ?? null,
        deletedAt: user.deletedAt?.toISOString() ?? null,
      },
      reauth: await reauthMethods(services, admin),
    };
  } catch (error) {
    loaderFailure(error);
  }
}

const statusForm = z.object({ intent: field.oneOf(["deactivate", "reactivate", "restore"]), proof: field.text(1_000) });

export async function action({ request, context, params }: ActionFunctionArgs) {
  const { services, clientIp } = context;
  const admin = await requireAdmin(services, request);
  try {
    const { intent, proof } = await parseForm(request, statusForm);
    const userId = idParam(params, "userId", "That account");
    if (intent === "restore") {
      await restoreDeletedAccount(services, admin, userId, proof, auditActor(request, clientIp, admin));
      const restored = await getManagedUser(services, admin, userId);
      return redirect(`/admin/users?done=${restored.deactivatedAt ? "restored-deactivated" : "restored"}`);
    }
    await setUserActive(services, admin, userId, intent === "reactivate", proof, auditActor(request, clientIp, admin));
    return redirect(`/admin/users?done=${intent === "reactivate" ? "reactivated" : "deactivated"}`);
  } catch (error) {
    return actionFailure(error);
  }
}

export default function AccountStatus() {
  const { user, reauth } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const busy = useNavigation().state !== "idle";
  const deactivated = user.deactivatedAt !== null;
  if (user.deletedAt) return <RestoreAccount user={{ ...user, deletedAt: user.deletedAt }} reauth={reauth} />;
  return (
    <div className="max-w-2xl space-y-6">
      <p className="text-sm">
        <Link to="/admin/users" className="text-accent-text underline">
          ← Users
        </Link>
      </p>
      <div>
        <h1 className="text-2xl font-semibold">{deactivated ? `Reactivate ${user.name}` : `Deactivate ${user.name}`}</h1>
        <p className="mt-1 text-sm text-text-muted break-all">{user.email}</p>
      </div>
      <FormMessage message={result?.message} />
      <Card as="section" padding="none" className="space-y-3 p-4" aria-labelledby="status-heading">
        <h2 id="status-heading" className="text-lg font-semibold">
          {deactivated ? "Let them back in" : "What deactivating does"}
        </h2>
        {deactivated ? (
          <p className="text-sm text-text-muted" data-testid="account-state">
            Deactivated since {formatDate(user.deactivatedAt!)}. Reactivating lets {user.name} sign in again; their files, share links, what
            they shared with other people and unfinished uploads work again as before.
          </p>
        ) : (
          <ul className="list-disc space-y-1 pl-5 text-sm text-text-muted">
            <li>{user.name} can no longer sign in (password, passkey or single sign-on) and is signed out everywhere at once.</li>
            <li>Their share links stop working, as if expired, and their unfinished uploads are refused.</li>
            <li>
              What they shared with other people is hidden from those people, who can no longer open or change it, until you reactivate the
              account.
            </li>
            <li>Their files stay. You can reactivate the account at any time, or delete it.</li>
          </ul>
        )}
        <Form method="post" className="space-y-3">
          <CsrfInput />
          <input type="hidden" name="intent" value={deactivated ? "reactivate" : "deactivate"} />
          <ConfirmIdentity reauth={reauth} id="field-proof" name="proof" label="Your password" error={result?.fieldErrors?.proof} />
          <div className="flex flex-wrap gap-2">
            <Button type="submit" variant={deactivated ? "primary" : "danger"} disabled={busy}>
              {deactivated ? `Reactivate ${user.name}` : `Deactivate ${user.name}`}
            </Button>
            <ButtonLink variant="secondary" to="/admin/users">
              Cancel
            </ButtonLink>
          </div>
        </Form>
      </Card>
    </div>
  );
}

/** A deleted account waiting for its purge: the one thing left to do here is to restore it. */
function RestoreAccount({
  user,
  reauth,
}: {
  user: { name: string; email: string; deletedAt: string };
  reauth: ReturnType<typeof useLoaderData<typeof loader>>["reauth"];
}) {
  const result = useActionData<typeof action>();
  const busy = useNavigation().state !== "idle";
  return (
    <div className="max-w-2xl space-y-6">
      <p className="text-sm">
        <Link to="/admin/users" className="text-accent-text underline">
          ← Users
        </Link>
      </p>
      <div>
        <h1 className="text-2xl font-semibold">{`Restore ${user.name}`}</h1>
        <p className="mt-1 text-sm text-text-muted break-all">{user.email}</p>
      </div>
      <FormMessage message={result?.message} />
      <Card as="section" padding="none" className="space-y-3 p-4" aria-labelledby="restore-heading">
        <h2 id="restore-heading" className="text-lg font-semibold">
          Bring the account back
        </h2>
        <p className="text-sm text-text-muted" data-testid="account-state">
          Deleted on {formatDate(user.deletedAt)}. Restoring it brings back the account with what it still owns (files given to someone else
          stay theirs): {user.name} can sign in again, and their share links and shares work again, unless the account had been deactivated
          before it was deleted.
        </p>
        <Form method="post" className="space-y-3">
          <CsrfInput />
          <input type="hidden" name="intent" value="restore" />
          <ConfirmIdentity reauth={reauth} id="field-proof" name="proof" label="Your password" error={result?.fieldErrors?.proof} />
          <div className="flex flex-wrap gap-2">
            <Button variant="primary" type="submit" disabled={busy}>
              {`Restore ${user.name}`}
            </Button>
            <ButtonLink variant="secondary" to="/admin/users">
              Cancel
            </ButtonLink>
          </div>
        </Form>
      </Card>
    </div>
  );
}
