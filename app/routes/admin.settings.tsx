import { cardClass } from "~/components/ui/card";

import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { auditActor } from "~/domain/audit/audit.server";
import { z } from "zod";
import { Field, FormMessage } from "~/components/field";
import { saveSettingsForm, settingsFormOver, settingsFormValues } from "~/domain/admin/admin.server";
import { requireAdmin } from "~/route-helpers/guards.server";
import { providerName } from "~/domain/accounts/reauth.server";
import { getSettings, type Settings } from "~/domain/admin/settings.server";
import { ValidationError } from "~/domain/errors";
import { formatBytes } from "~/lib/format";
import { actionFailure, actionSuccess } from "~/route-helpers/http.server";
import { field, formValues, parseFormData, readForm } from "~/route-helpers/forms.server";
import { CsrfInput } from "~/components/csrf-input";
import { Button } from "~/components/ui/button";

export const meta: MetaFunction = () => [{ title: "Settings · Admin · Coffer" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { services } = context;
  await requireAdmin(services, request);
  const settings = await getSettings(services);
  return {
    values: settingsFormValues(settings),
    maxUploadSize: services.config.uploads.maxSize,
    /** The provider's name when single sign-on is set up; the setting about it is shown only then. */
    ssoProvider: services.config.oidc ? providerName(services.config.oidc) : null,
    /** The cold-tier setting is offered only when COLD_STORAGE is set. */
    coldTier: Boolean(services.config.storageTiers.cold || services.config.storageTiers.coldStorageClass),
  };
}

const settingsForm = z.object({
  defaultQuota: field.text(100),
  maxFileSize: field.text(100),
  blockedExtensions: field.text(10_000),
  trashRetentionDays: field.text(100),
  auditRetentionDays: field.text(100),
  versionsKept: field.text(100),
  versionRetentionDays: field.text(100),
  deletedAccountRetentionDays: field.text(100),
  coldTierAfterDays: field.text(100),
  sessionIdleDays: field.text(100),
  sessionAbsoluteDays: field.text(100),
  requireMfaForAdmins: field.text(100),
  requireMfaAfterSso: field.text(100),
  tokensMustExpire: field.text(100),
  tokenMaxDays: field.text(100),
});
type Values = z.output<typeof settingsForm>;

/** The hidden field carrying the values the page showed, to tell what the admin changed. */
const LOADED = "loaded";
const loadedForm = z.strictObject(Object.fromEntries(Object.keys(settingsForm.shape).map((name) => [name, z.string().max(10_000)])));

/** The values the page showed; null when a post carries none (a script, an older page). */
function loadedValues(value: FormDataEntryValue | null): Record<string, string> | null {
  if (value === null || value === "") return null;
  let parsed: unknown;
  try {
    parsed = typeof value === "string" && value.length <= 200_000 ? JSON.parse(value) : undefined;
  } catch {
    parsed = undefined;
  }
  const loaded = loadedForm.safeParse(parsed);
  if (!loaded.success) throw new ValidationError("The form is out of date. Reload the page and save again.");
  return loaded.data;
}
const NOTHING_SENT = Object.fromEntries(Object.keys(settingsForm.shape).map((name) => [name, ""])) as Values;

export async function action({ request, context }: ActionFunctionArgs) {
  const { services } = context;
  const admin = await requireAdmin(services, request);
  // What was typed goes back into the form when it is refused.
  let values = NOTHING_SENT;
  try {
    const form = await readForm(request);
    const sent = formValues(form);
    values = Object.fromEntries(
      Object.keys(NOTHING_SENT).map((name) => [name, typeof sent[name] === "string" ? sent[name] : ""]),
    ) as Values;
    const posted = parseFormData(form, settingsForm);
    const loaded = loadedValues(form.get(LOADED));
    // Only the fields the admin changed are written: a change saved meanwhile (another admin,
    // the API) to a field left alone here is kept.
    const save = loaded ? (current: Settings) => settingsFormOver(current, posted, loaded) : posted;
    await saveSettingsForm(services, admin, save, auditActor(request, context.clientIp, admin));
    return actionSuccess("Settings saved.");
  } catch (error) {
    return actionFailure(error, { values });
  }
}

export default function AdminSettings() {
  const { values: saved, maxUploadSize, ssoProvider, coldTier } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const busy = useNavigation().state === "submitting";
  const errors = result && !result.ok ? result.fieldErrors : {};
  // After a refused save, show what was typed; after a good one, the stored (normalised) values.
  const values = result && !result.ok ? result.values : saved;
  const key = result && !result.ok ? "typed" : JSON.stringify(saved);

  return (
    <div className="space-y-6">
      <div>
        <p className="text-sm">
          <Link to="/admin" className="text-accent-text underline">
            ← Administration
          </Link>
        </p>
        <h1 className="mt-1 text-2xl font-semibold">Settings</h1>
        <p className="mt-1 text-sm text-text-muted">Limits that apply to every account. Changes take effect within a few seconds.</p>
      </div>
      <FormMessage message={result?.message} tone={result?.ok ? "success" : "error"} />
      <Form method="post" className={cardClass("max-w-2xl space-y-5 p-6")} key={key} noValidate>
        <CsrfInput />
        <input type="hidden" name={LOADED} value={JSON.stringify(saved)} />
        <Field
          label="Default quota per user"
          name="defaultQuota"
          defaultValue={values.defaultQuota}
          error={errors.defaultQuota}
          hint="Storage each account may use unless it has its own quota, e.g. 10GiB or 500MB. Leave empty for unlimited."
          autoComplete="off"
        />
        <Field
          label="Maximum file size"
          name="maxFileSize"
          defaultValue={values.maxFileSize}
          error={errors.maxFileSize}
          required
          hint={`The largest file anyone may upload, e.g. 2GiB. At most ${formatBytes(maxUploadSize)} (MAX_UPLOAD_SIZE in the server configuration).`}
          autoComplete="off"
        />
        <Field
          label="Blocked file extensions"
          name="blockedExtensions"
          defaultValue={values.blockedExtensions}
          error={errors.blockedExtensions}
          hint="Files ending in these cannot be uploaded. Separate with commas or spaces, e.g. exe, bat, cmd. Leave empty to allow every type."
          autoComplete="off"
        />
        <Field
          label="Trash retention (days)"
          name="trashRetentionDays"
          type="number"
          inputMode="numeric"
          min={1}
          max={3650}
          defaultValue={values.trashRetentionDays}
          error={errors.trashRetentionDays}
          required
          hint="Items in the trash are deleted for good after this many days (1 to 3650)."
        />
        <Field
          label="Audit log retention (days)"
          name="auditRetentionDays"
          type="number"
          inputMode="numeric"
          min={30}
          max={36500}
          defaultValue={values.auditRetentionDays}
          error={errors.auditRetentionDays}
          hint="Audit events older than this are deleted every hour, and the deletion is itself audited (30 to 36500; empty keeps them forever)."
        />
        <Field
          label="Versions kept per file"
          name="versionsKept"
          type="number"
          inputMode="numeric"
          min={0}
          max={1000}
          defaultValue={values.versionsKept}
          error={errors.versionsKept}
          hint="Earlier versions kept per file when it is replaced; the oldest beyond this are deleted every hour (0 to 1000; 0 keeps none; empty keeps them all)."
        />
        <Field
          label="Version retention (days)"
          name="versionRetentionDays"
          type="number"
          inputMode="numeric"
          min={1}
          max={36500}
          defaultValue={values.versionRetentionDays}
          error={errors.versionRetentionDays}
          hint="Earlier versions are deleted this many days after they were replaced, checked every hour (1 to 36500; empty keeps them however old)."
        />
        <Field
          label="Deleted accounts kept (days)"
          name="deletedAccountRetentionDays"
          type="number"
          inputMode="numeric"
          min={0}
          max={3650}
          defaultValue={values.deletedAccountRetentionDays}
          error={errors.deletedAccountRetentionDays}
          required
          hint="A deleted account can be restored by an administrator for this many days, then it and its files are purged (0 to 3650; 0 purges at once)."
        />
        {coldTier ? (
          <Field
            label="Move to the cold tier after (days unread)"
            name="coldTierAfterDays"
            type="number"
            inputMode="numeric"
            min={1}
            max={36500}
            defaultValue={values.coldTierAfterDays}
            error={errors.coldTierAfterDays}
            hint="Files and versions nobody has downloaded or previewed for this many days move to the cold tier every hour, and come back when read (1 to 36500; empty keeps everything hot)."
          />
        ) : (
          <input type="hidden" name="coldTierAfterDays" value={values.coldTierAfterDays} />
        )}
        <Field
          label="Session idle timeout (days)"
          name="sessionIdleDays"
          type="number"
          inputMode="numeric"
          min={1}
          max={3650}
          defaultValue={values.sessionIdleDays}
          error={errors.sessionIdleDays}
          required
          hint="A login not used for this many days ends, and the person must log in again (1 to 3650)."
        />
        <Field
          label="Session absolute timeout (days)"
          name="sessionAbsoluteDays"
          type="number"
          inputMode="numeric"
          min={1}
          max={3650}
          defaultValue={values.sessionAbsoluteDays}
          error={errors.sessionAbsoluteDays}
          required
          hint="Every login ends this many days after it started, however often it is used (1 to 3650). Lowering either timeout applies to existing sessions at once."
        />
        <CheckboxField
          name="tokensMustExpire"
          checked={values.tokensMustExpire === "on"}
          label="Access tokens must expire"
          hint="New personal access tokens need an expiry date no further ahead than the longest lifetime below. Existing tokens keep theirs."
        />
        <Field
          label="Longest access token lifetime (days)"
          name="tokenMaxDays"
          type="number"
          inputMode="numeric"
          min={1}
          max={3650}
          defaultValue={values.tokenMaxDays}
          error={errors.tokenMaxDays}
          required
          hint="Applies while access tokens must expire (1 to 3650)."
        />
        <CheckboxField
          name="requireMfaForAdmins"
          checked={values.requireMfaForAdmins === "on"}
          label="Require two-step verification for administrators"
          hint="An administrator without an authenticator app is sent to set one up before anything else."
        />
        {ssoProvider ? (
          <CheckboxField
            name="requireMfaAfterSso"
            checked={values.requireMfaAfterSso === "on"}
            label="Also require Coffer's two-step verification after single sign-on"
            hint={`People who set up an authenticator app or a passkey in Coffer are asked for it after signing in with ${ssoProvider}, as after a password. When off, ${ssoProvider}'s own checks are trusted.`}
          />
        ) : (
          // Single sign-on is not set up: keep the stored choice for when it is again.
          <input type="hidden" name="requireMfaAfterSso" value={values.requireMfaAfterSso} />
        )}
        <div>
          <Button variant="primary" type="submit" disabled={busy}>
            Save settings
          </Button>
        </div>
      </Form>
    </div>
  );
}

function CheckboxField({ name, checked, label, hint }: { name: string; checked: boolean; label: string; hint: string }) {
  return (
    <div className="flex items-start gap-3">
      <input
        id={`field-${name}`}
        name={name}
        type="checkbox"
        className="mt-1 h-4 w-4"
        defaultChecked={checked}
        aria-describedby={`field-${name}-hint`}
      />
      <div>
        <label htmlFor={`field-${name}`} className="label">
          {label}
        </label>
        <p id={`field-${name}-hint`} className="mt-1 text-sm text-text-muted">
          {hint}
        </p>
      </div>
    </div>
  );
}
