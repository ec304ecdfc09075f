import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { ErasureProgress } from "~/components/accounts/erasure-progress";
import { erasureById } from "~/domain/accounts/account-deletion.server";
import { field, parseQuery } from "~/route-helpers/forms.server";

export const meta: MetaFunction = () => [{ title: "Account deleted · Coffer" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  // Days an administrator can still restore the account (set by the deletion's redirect); a
  // value that is not a small whole number is ignored: the page then says what a purge did.
  const { restorable, erasing } = parseQuery(request, z.object({ restorable: field.hint(10), erasing: field.hint(40) }));
  const days = restorable && /^\d{1,4}$/.test(restorable) ? Number(restorable) : 0;
  // A large account is erased in the background: its progress, by the operation's id (numbers only).
  const operationId = erasing && /^[a-z0-9]{1,40}$/.test(erasing) ? erasing : null;
  const progress = operationId ? await erasureById(context.services, operationId) : null;
  return { restorableDays: days > 0 ? days : null, progress, refreshHref: `/account-deleted?erasing=${operationId ?? ""}` };
}

export default function AccountDeleted() {
  const { restorableDays, progress, refreshHref } = useLoaderData<typeof loader>();
  return (
    <div className="mx-auto max-w-md space-y-3 py-10 text-center">
      <h1 className="text-2xl font-semibold">{progress ? "Your account is being deleted" : "Your account was deleted"}</h1>
      {progress ? (
        <>
          <p className="text-text-muted">
            Every session was signed out and nobody can open your files or shares any more. They are being deleted now.
          </p>
          <ErasureProgress done={progress.done} total={progress.total} refreshHref={refreshHref} />
        </>
      ) : restorableDays === null ? (
        <p className="text-text-muted">Your files, folders, versions and shares are gone, and every session was signed out.</p>
      ) : (
        <p className="text-text-muted">
          {`Every session was signed out and nobody can open your files or shares any more. For ${restorableDays} day${restorableDays === 1 ? "" : "s"} an administrator of this Coffer can still restore your account; then it is deleted for good with everything in it.`}
        </p>
      )}
      <p>
        <Link to="/register" className="underline">
          Create a new account
        </Link>
      </p>
    </div>
  );
}
