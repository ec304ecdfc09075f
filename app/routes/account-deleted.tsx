import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { field, parseQuery } from "~/route-helpers/forms.server";

export const meta: MetaFunction = () => [{ title: "Account deleted · Coffer" }];

export function loader({ request }: LoaderFunctionArgs) {
  // Days an administrator can still restore the account (set by the deletion's redirect); a
  // value that is not a small whole number is ignored: the page then says what a purge did.
  const { restorable } = parseQuery(request, z.object({ restorable: field.hint(10) }));
  const days = restorable && /^\d{1,4}$/.test(restorable) ? Number(restorable) : 0;
  return { restorableDays: days > 0 ? days : null };
}

export default function AccountDeleted() {
  const { restorableDays } = useLoaderData<typeof loader>();
  return (
    <div className="mx-auto max-w-md space-y-3 py-10 text-center">
      <h1 className="text-2xl font-semibold">Your account was deleted</h1>
      {restorableDays === null ? (
        <p className="text-slate-700">Your files, folders, versions and shares are gone, and every session was signed out.</p>
      ) : (
        <p className="text-slate-700">
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
