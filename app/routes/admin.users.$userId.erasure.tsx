import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { ErasureProgress } from "~/components/accounts/erasure-progress";
import { erasureOfAccount } from "~/domain/accounts/account-deletion.server";
import { requireAdmin } from "~/route-helpers/guards.server";
import { idParam } from "~/route-helpers/params.server";
import { loaderFailure } from "~/route-helpers/http.server";
import { accountName } from "~/domain/admin/admin-users.server";

export const meta: MetaFunction = () => [{ title: "Erasing an account · Admin · Coffer" }];

/** The erasure of a large account that an administrator deleted, as it goes on in the background. */
export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const { services } = context;
  await requireAdmin(services, request);
  try {
    const userId = idParam(params, "userId", "That account");
    const [progress, name] = await Promise.all([erasureOfAccount(services, userId), accountName(services, userId)]);
    return { userId, name, progress };
  } catch (error) {
    loaderFailure(error);
  }
}

export default function AccountErasure() {
  const { userId, name, progress } = useLoaderData<typeof loader>();
  return (
    <div className="max-w-2xl space-y-6">
      <p className="text-sm">
        <Link to="/admin/users" className="text-accent-text underline">
          ← Users
        </Link>
      </p>
      <h1 className="text-2xl font-semibold">{progress && name ? `Erasing ${name}'s account` : "Erasing an account"}</h1>
      {progress ? (
        <>
          <p className="text-sm text-text-muted">
            The account is closed: nobody can sign in to it or open its files and shares. Its files and folders are deleted in batches; the
            account itself goes last, with its audit event.
          </p>
          <ErasureProgress done={progress.done} total={progress.total} refreshHref={`/admin/users/${userId}/erasure`} />
        </>
      ) : (
        <p className="text-text-muted" role="status">
          {name
            ? `${name}'s account is not being erased.`
            : "The account is erased: its files, folders, versions and shares are gone. The audit log keeps its entries under an anonymous name."}
        </p>
      )}
    </div>
  );
}
