import { Card } from "~/components/ui/card";
import { redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { Field, FormMessage } from "~/components/field";
import { ConfirmIdentity } from "~/components/security/confirm-identity";
import { CsrfInput } from "~/components/csrf-input";
import { deleteUserByAdmin, deletionSummary } from "~/domain/admin/admin-users.server";
import { getSettings } from "~/domain/admin/settings.server";
import { auditActor } from "~/domain/audit/audit.server";
import { reauthMethods } from "~/domain/accounts/reauth.server";
import { requireAdmin } from "~/route-helpers/guards.server";
import { formatBytes } from "~/lib/format";
import { actionFailure, loaderFailure } from "~/route-helpers/http.server";
import { z } from "zod";
import { field, parseForm } from "~/route-helpers/forms.server";
import { idParam } from "~/route-helpers/params.server";
import { Button, ButtonLink } from "~/components/ui/button";

export const meta: MetaFunction = () => [{ title: "Delete account · Admin · Coffer" }];

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const { services } = context;
  const admin = await requireAdmin(services, request);
  try {
    const summary = await deletionSummary(services, admin, idParam(params, "userId", "That account"));
    const { user } = summary;
    return {
      ...summary,
      user: { id: user.id, name: user.name, email: user.email, deactivated: user.deactivatedAt !== null, deleted: user.deletedAt !== null },
      // Days the account stays restorable after this deletion; 0 when it is purged at once.
      graceDays: user.deletedAt ? 0 : (await getSettings(services)).deletedAccountRetentionDays,
      reauth: await reauthMethods(services, admin),
    };
  } catch (error) {
    loaderFailure(error);
  }
}

const deleteForm = z.object({ confirmEmail: field.text(1_000), proof: field.text(1_000), files: field.text(100) });

export async function action({ request, context, params }: ActionFunctionArgs) {
  const { services, clientIp } = context;
  const admin = await requireAdmin(services, request);
  try {
    const input = await parseForm(request, deleteForm);
    const result = await deleteUserByAdmin(
      services,
      admin,
      idParam(params, "userId", "That account"),
      input,
      auditActor(request, clientIp, admin),
    );
    // A large account is erased by a background job: its page shows how far it is.
    if (result.removal.kind === "purged" && result.removal.erasing) return redirect(`/admin/users/${result.id}/erasure`);
    if (result.removal.kind === "purged" && result.removal.wasDeleted) return redirect("/admin/users?done=purged");
    return redirect(result.givenTo ? "/admin/users?done=deleted-given" : "/admin/users?done=deleted");
  } catch (error) {
    return actionFailure(error);
  }
}

const plural = (count: number, one: string, many = `${one}s`) => `${count.toLocaleString("en")} ${count === 1 ? one : many}`;

export default function DeleteAccount() {
  const { user, files, folders, bytes, trash, shareLinks, userShares, uploads, receivers, graceDays, reauth } =
    useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const busy = useNavigation().state !== "idle";
  const errors = result?.fieldErrors ?? {};
  return (
    <div className="max-w-2xl space-y-6">
      <p className="text-sm">
        <Link to="/admin/users" className="text-accent-text underline">
          ← Users
        </Link>
      </p>
      <div>
        <h1 className="text-2xl font-semibold">Delete {user.name}</h1>
        <p className="mt-1 text-sm text-text-muted break-all">{user.email}</p>
      </div>
      <FormMessage message={result?.message} />
      <Card as="section" padding="none" className="space-y-3 border-danger-border p-4" aria-labelledby="what-heading">
        <h2 id="what-heading" className="text-lg font-semibold">
          What will be deleted
        </h2>
        <ul className="list-disc space-y-1 pl-5 text-sm text-text-muted" data-testid="deletion-summary">
          <li>{`${plural(files, "file")} in ${plural(folders, "folder")}, ${formatBytes(bytes)} with earlier versions, unless you give them to someone below;`}</li>
          {trash.files + trash.folders > 0 ? (
            <li>{`their trash: ${plural(trash.files, "file")} and ${plural(trash.folders, "folder")}, ${formatBytes(trash.bytes)}, deleted even if you give their files away;`}</li>
          ) : null}
          <li>{`${plural(shareLinks, "share link")} and ${plural(userShares, "item")} shared with other people;`}</li>
          <li>{`${plural(uploads, "unfinished upload")};`}</li>
          <li>the account, its sessions, passkeys and sign-in links. The audit log keeps its entries under an anonymous name.</li>
        </ul>
        <p className="text-sm text-text-muted" data-testid="deletion-grace">
          {user.deleted
            ? "The account is already deleted: this purges it now, before its grace period ends. This cannot be undone."
            : graceDays > 0
              ? `The account is kept, signed out and locked, for ${graceDays} day${graceDays === 1 ? "" : "s"}: until then you can restore it from the Deleted accounts list. Then it is purged for good.`
              : "This cannot be undone."}
          {user.deactivated ? null : (
            <>
              {" "}
              To only stop them signing in,{" "}
              <Link to={`/admin/users/${user.id}/status`} className="text-accent-text underline">
                deactivate the account instead
              </Link>
              .
            </>
          )}
        </p>
        <Form method="post" className="space-y-4">
          <CsrfInput />
          <div>
            <label htmlFor="field-files" className="label">
              Their files
            </label>
            <select
              id="field-files"
              name="files"
              className="input"
              defaultValue="delete"
              aria-invalid={errors.files ? true : undefined}
              aria-describedby={errors.files ? "field-files-error field-files-hint" : "field-files-hint"}
            >
              <option value="delete">Delete their files</option>
              {receivers.map((receiver) => (
                <option key={receiver.id} value={`give:${receiver.id}`}>
                  {`Give their files to ${receiver.name} (${receiver.email})`}
                </option>
              ))}
            </select>
            <p id="field-files-hint" className="mt-1 text-sm text-text-muted">
              {`Given files move, with their folders, into a new folder “From ${user.name}” in that person’s files; their storage must have room for them. The trash is not given.`}
            </p>
            {errors.files ? (
              <p id="field-files-error" className="field-error">
                {errors.files}
              </p>
            ) : null}
          </div>
          <Field
            label={`Type ${user.email} to confirm`}
            name="confirmEmail"
            type="email"
            autoComplete="off"
            required
            error={errors.confirmEmail}
          />
          <ConfirmIdentity reauth={reauth} id="field-proof" name="proof" label="Your password" error={errors.proof} />
          <div className="flex flex-wrap gap-2">
            <Button variant="danger" type="submit" disabled={busy}>
              {busy ? "Deleting…" : `Delete ${user.name}'s account`}
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
