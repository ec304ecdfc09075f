import { Select } from "~/components/ui/input";
import { Card } from "~/components/ui/card";
import { type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction, redirect } from "@remix-run/node";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { CsrfInput } from "~/components/csrf-input";
import { Field, FormMessage } from "~/components/field";
import { Button } from "~/components/ui/button";
import { NOTIFIABLE_KINDS, NOTIFICATION_CHANNELS, type NotificationChannel } from "~/domain/events/catalogue";
import { getNotificationPreferences, localeFromAcceptLanguage, saveNotificationPreferences } from "~/domain/events/preferences.server";
import { field, formValues, parseQuery, readForm } from "~/route-helpers/forms.server";
import { requireUser } from "~/route-helpers/guards.server";
import { actionFailure, retryAfterHeaders } from "~/route-helpers/http.server";

export const meta: MetaFunction = () => [{ title: "Notifications · Settings · Coffer" }];
export const headers = retryAfterHeaders;

/** Languages offered for the emails' dates; "browser" stores this browser's first language. */
const LOCALES = [
  ["en-US", "English (United States)"],
  ["en-GB", "English (United Kingdom)"],
  ["de-DE", "Deutsch (Deutschland)"],
  ["fr-FR", "Français (France)"],
  ["es-ES", "Español (España)"],
  ["it-IT", "Italiano (Italia)"],
  ["nl-NL", "Nederlands (Nederland)"],
  ["pt-BR", "Português (Brasil)"],
  ["pl-PL", "Polski (Polska)"],
  ["sv-SE", "Svenska (Sverige)"],
  ["ja-JP", "日本語 (日本)"],
  ["zh-CN", "中文 (中国)"],
] as const;

const CHANNEL_LABELS: Record<NotificationChannel, string> = {
  "in-app": "In the app",
  email: "In the app and by email at once",
  digest: "In the app and in a daily email",
  off: "Off",
};

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { services } = context;
  const user = await requireUser(services, request);
  const { done } = parseQuery(request, z.object({ done: field.hint(10) }));
  return {
    done: done === "1" ? "Your notification settings were saved." : null,
    emailOn: services.config.mail !== null,
    browserLocale: localeFromAcceptLanguage(request.headers.get("accept-language")),
    locales: LOCALES,
    ...(await getNotificationPreferences(services, user.id)),
  };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const { services } = context;
  const user = await requireUser(services, request);
  try {
    const form = await readForm(request);
    const channels: Record<string, string> = {};
    // Every notifiable kind is read: one this account is not offered (an administrators' kind) is refused, not ignored.
    for (const { kind } of NOTIFIABLE_KINDS) {
      const value = form.get(`channel.${kind}`);
      if (typeof value === "string") channels[kind] = value;
    }
    const localeField = form.get("locale");
    const zoneField = form.get("timeZone");
    const locale =
      typeof localeField !== "string"
        ? undefined
        : localeField === "browser"
          ? localeFromAcceptLanguage(request.headers.get("accept-language"))
          : localeField || null;
    try {
      await saveNotificationPreferences(services, user.id, {
        channels: channels as Record<string, NotificationChannel>,
        locale,
        timeZone: typeof zoneField === "string" ? zoneField || null : undefined,
      });
    } catch (error) {
      return actionFailure(error, { values: formValues(form) });
    }
    return redirect("/settings/notifications?done=1");
  } catch (error) {
    return actionFailure(error, { values: {} as Record<string, string | string[]> });
  }
}

export default function NotificationSettings() {
  const { done, emailOn, browserLocale, locales, kinds, locale, timeZone } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const errors = result && !result.ok ? result.fieldErrors : {};
  const sent = result && !result.ok ? result.values : null;
  const chosen = (kind: string, fallback: string) => {
    const value = sent?.[`channel.${kind}`];
    return typeof value === "string" ? value : fallback;
  };
  const knownLocale = locales.some(([tag]) => tag === locale);
  return (
    <div className="space-y-6">
      <div>
        <h1 className="text-2xl font-semibold">Notifications</h1>
        <p className="mt-1 text-sm text-text-muted">
          Choose how Coffer tells you about each kind of event. Every choice but “Off” shows it under Notifications (the bell).
        </p>
      </div>
      <FormMessage message={done} tone="success" />
      {result && !result.ok ? <FormMessage message={result.message} /> : null}
      {emailOn ? null : (
        <Card className="text-sm">
          This server sends no email (an administrator has not set up SMTP): email choices are kept, but only the app shows notifications
          until it does.
        </Card>
      )}
      <Form method="post" className="space-y-6">
        <CsrfInput />
        <Card as="section" padding="none" className="space-y-4 p-6" aria-labelledby="kinds-heading">
          <h2 id="kinds-heading" className="text-lg font-semibold">
            What to tell me, and how
          </h2>
          {kinds.map((entry) => (
            <fieldset key={entry.kind} aria-describedby={errors[entry.kind] ? `error-${entry.kind}` : undefined}>
              <legend className="text-sm font-medium">{entry.label}</legend>
              {errors[entry.kind] ? (
                <p id={`error-${entry.kind}`} className="field-error">
                  {errors[entry.kind]}
                </p>
              ) : null}
              <div className="mt-2 flex flex-wrap gap-x-6 gap-y-1">
                {NOTIFICATION_CHANNELS.map((channel) => (
                  <label key={channel} className="flex items-center gap-2 text-sm">
                    <input
                      type="radio"
                      name={`channel.${entry.kind}`}
                      value={channel}
                      defaultChecked={chosen(entry.kind, entry.channel) === channel}
                    />
                    {CHANNEL_LABELS[channel]}
                    {channel === entry.defaultChannel ? <span className="text-text-muted"> (default)</span> : null}
                  </label>
                ))}
              </div>
            </fieldset>
          ))}
        </Card>
        <Card as="section" padding="none" className="space-y-4 p-6" aria-labelledby="dates-heading">
          <h2 id="dates-heading" className="text-lg font-semibold">
            Dates in emails
          </h2>
          <div>
            <label htmlFor="field-locale" className="text-sm font-medium">
              Language
            </label>
            <Select
              id="field-locale"
              name="locale"
              className="mt-1"
              defaultValue={typeof sent?.locale === "string" ? sent.locale : (locale ?? "")}
              aria-describedby={errors.locale ? "field-locale-error" : undefined}
            >
              <option value="">English (the default)</option>
              {browserLocale ? <option value="browser">This browser's language ({browserLocale})</option> : null}
              {locale && !knownLocale ? <option value={locale}>{locale}</option> : null}
              {locales.map(([tag, name]) => (
                <option key={tag} value={tag}>
                  {name}
                </option>
              ))}
            </Select>
            {errors.locale ? (
              <p id="field-locale-error" className="field-error">
                {errors.locale}
              </p>
            ) : null}
          </div>
          <Field
            label="Time zone"
            name="timeZone"
            maxLength={64}
            defaultValue={typeof sent?.timeZone === "string" ? sent.timeZone : (timeZone ?? "")}
            error={errors.timeZone}
            hint="e.g. Europe/Berlin or America/New_York. Empty: UTC."
          />
        </Card>
        <Button variant="primary" type="submit">
          Save
        </Button>
      </Form>
    </div>
  );
}
