import { Card } from "~/components/ui/card";
import { redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { Field, FormMessage } from "~/components/field";
import { deleteAccount } from "~/domain/accounts/account-deletion.server";
import { getSettings } from "~/domain/admin/settings.server";
import { storedFilesOf } from "~/domain/accounts/account-export.server";
import { reauthMethods } from "~/domain/accounts/reauth.server";
import { z } from "zod";
import { ConfirmIdentity } from "~/components/security/confirm-identity";
import { describeWait } from "~/domain/rate-limit.server";
import { sessionCookie } from "~/domain/accounts/sessions.server";
import { requireUser } from "~/route-helpers/guards.server";
import { formatBytes } from "~/lib/format";
import { field, parseForm, parseQuery } from "~/route-helpers/forms.server";
import { actionFailure } from "~/route-helpers/http.server";
import { CsrfInput } from "~/components/csrf-input";
import { Button } from "~/components/ui/button";

export const meta: MetaFunction = () => [{ title: "Privacy · Coffer" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { services } = context;
  const user = await requireUser(services, request);
  const { files, bytes } = await storedFilesOf(services, user.id);
  // The export route redirects back here when it cannot start (it streams a file otherwise).
  const wait = Number(parseQuery(request, z.object({ "export-wait": field.hint(20) }))["export-wait"]);
  const exportError =
    Number.isInteger(wait) && wait > 0 ? `You have started several exports recently. Please try again in ${describeWait(wait)}.` : null;
  const { deletedAccountRetentionDays: graceDays } = await getSettings(services);
  return { email: user.email, files, bytes, exportError, graceDays, reauth: await reauthMethods(services, user) };
}

const privacyForm = z.object({ intent: field.oneOf(["delete"]), confirmEmail: field.text(1_000), password: field.text(1_000) });

export async function action({ request, context }: ActionFunctionArgs) {
  const { services, clientIp } = context;
  const user = await requireUser(services, request);
  try {
    const { confirmEmail, password } = await parseForm(request, privacyForm);
    const removal = await deleteAccount(services, user, { confirmEmail, password }, request, clientIp);
    const goodbye =
      removal.kind === "deleted"
        ? `/account-deleted?restorable=${removal.graceDays}`
        : removal.erasing
          ? `/account-deleted?erasing=${removal.erasing}`
          : "/account-deleted";
    return redirect(goodbye, {
      headers: { "Set-Cookie": await sessionCookie(services).serialize("", { maxAge: 0 }) },
    });
  } catch (error) {
    return actionFailure(error);
  }
}

export default function PrivacySettings() {
  const { email, files, bytes, exportError, graceDays, reauth } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const navigation = useNavigation();
  const deleting = navigation.state !== "idle" && navigation.formData?.get("intent") === "delete";
  return (
    <div className="max-w-2xl space-y-6">
      <div>
        <h1 className="text-2xl font-semibold">Privacy</h1>
        <p className="mt-1 text-sm text-text-muted">Take a copy of everything Coffer keeps about you, or delete your account.</p>
      </div>
      <FormMessage message={result?.message ?? exportError} />

      <Card as="section" padding="none" className="space-y-3 p-4" aria-labelledby="export-heading">
        <h2 id="export-heading" className="text-lg font-semibold">
          Export my data
        </h2>
        <p className="text-sm text-text-muted">
          One ZIP file with your {files.toLocaleString("en")} {files === 1 ? "file" : "files"} ({formatBytes(bytes)}) as they are organised
          in Coffer, the items in your trash, earlier versions, and JSON files describing your account, sessions, shares, activity and
          security events. It downloads as it is built, so it starts at once however large it is.
        </p>
        {/* A native POST: the browser saves the streamed ZIP instead of the page handling it. */}
        <Form method="post" action="/settings/privacy/export" reloadDocument>
          <CsrfInput />
          <Button variant="primary" type="submit">
            Download my data
          </Button>
        </Form>
      </Card>

      <Card as="section" padding="none" className="space-y-3 border-danger-border p-4" aria-labelledby="delete-heading">
        <h2 id="delete-heading" className="text-lg font-semibold">
          Delete my account
        </h2>
        <p className="text-sm text-text-muted">
          This deletes your files, folders, versions, share links and shares with other people, and signs you out everywhere.{" "}
          {graceDays > 0
            ? `For ${graceDays} day${graceDays === 1 ? "" : "s"} an administrator can still restore your account; then it is deleted for good. Export your data first if you want to keep it.`
            : "It cannot be undone: export your data first if you want to keep it."}{" "}
          The security log keeps its entries about you under an anonymous name.
        </p>
        <Form method="post" className="space-y-3">
          <CsrfInput />
          <input type="hidden" name="intent" value="delete" />
          <Field
            label={`Type your email address (${email}) to confirm`}
            name="confirmEmail"
            type="email"
            autoComplete="off"
            required
            error={result?.fieldErrors?.confirmEmail}
          />
          {/* Deleting takes the password, not a code; or a recent confirmation at the provider. */}
          <ConfirmIdentity
            reauth={{ ...reauth, code: false }}
            id="field-password"
            name="password"
            label="Your password"
            error={result?.fieldErrors?.password}
          />
          <Button variant="danger" type="submit" disabled={deleting}>
            {deleting ? "Deleting…" : "Delete my account and all my files"}
          </Button>
        </Form>
      </Card>
    </div>
  );
}
