import { data, redirect, type ActionFunctionArgs, type HeadersFunction, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { useActionData, useLoaderData, useNavigation, type ShouldRevalidateFunction } from "@remix-run/react";
import { FormMessage } from "~/components/field";
import { EventsSection } from "~/components/security/events-section";
import { MfaSection } from "~/components/security/mfa-section";
import { PasskeysSection } from "~/components/security/passkeys-section";
import { PasswordSection } from "~/components/security/password-section";
import { SessionsSection } from "~/components/security/sessions-section";
import { auditActor, recordAudit, type AuditActor } from "~/domain/audit/audit.server";
import { ValidationError } from "~/domain/errors";
import { loadMfaStatus } from "~/domain/accounts/mfa.server";
import { listPasskeys, removePasskey, renamePasskey } from "~/domain/accounts/passkeys.server";
import { PASSWORD_HINT } from "~/domain/accounts/password-policy.server";
import { limitMfaVerification, TooManyRequestsError } from "~/domain/rate-limit.server";
import { changePassword } from "~/domain/accounts/passwords.server";
import { reauthMethods } from "~/domain/accounts/reauth.server";
import { listMySecurityEvents } from "~/domain/audit/security-events.server";
import {
  listSessions,
  restartSessions,
  revokeOtherSessions,
  revokeSession,
  sessionCookie,
  type SessionUser,
} from "~/domain/accounts/sessions.server";
import { requireUser } from "~/route-helpers/guards.server";
import { getSettings } from "~/domain/admin/settings.server";
import { actionFailure } from "~/route-helpers/http.server";
import type { Services } from "~/services/index.server";
import { z } from "zod";
import { field, formValues, parseFormData, readForm, parseQuery } from "~/route-helpers/forms.server";

export const meta: MetaFunction = () => [{ title: "Security · Settings · Coffer" }];

export const headers: HeadersFunction = ({ actionHeaders, loaderHeaders }) => {
  const retryAfter = actionHeaders.get("Retry-After");
  return retryAfter ? { "Retry-After": retryAfter } : loaderHeaders;
};

/** Success messages after POST → redirect (`?done=<key>`), so a reload never repeats an action. */
const DONE_MESSAGES: Record<string, string> = {
  "password-changed": "Your password was changed. Every other session was logged out.",
  "password-set": "Your password was set: you can now also log in with your email address and it. Every other session was logged out.",
  "session-revoked": "That session was logged out.",
  "others-revoked": "All other sessions were logged out.",
  "passkey-renamed": "The passkey was renamed.",
  "passkey-removed": "The passkey was removed. It no longer logs you in.",
};

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { services } = context;
  const user = await requireUser(services, request);
  const [sessions, events, settings, mfa, passkeys, reauth] = await Promise.all([
    listSessions(services, user),
    listMySecurityEvents(services, user),
    getSettings(services),
    loadMfaStatus(services, user),
    listPasskeys(services, user.id),
    reauthMethods(services, user),
  ]);
  const { done } = parseQuery(request, z.object({ done: field.hint(40) }));
  return {
    done: done ? (DONE_MESSAGES[done] ?? null) : null,
    passwordHint: PASSWORD_HINT,
    sessions: sessions.map((session) => ({
      ...session,
      createdAt: session.createdAt.toISOString(),
      lastSeenAt: session.lastSeenAt.toISOString(),
    })),
    idleDays: settings.sessionIdleDays,
    absoluteDays: settings.sessionAbsoluteDays,
    events,
    mfa,
    passkeys,
    reauth,
    ssoOnly: Boolean(services.config.oidc?.ssoOnly),
  };
}

// A refused change is a security event too: reload the sections after every submission.
export const shouldRevalidate: ShouldRevalidateFunction = ({ formMethod, defaultShouldRevalidate }) =>
  formMethod?.toUpperCase() === "POST" ? true : defaultShouldRevalidate;

interface IntentArgs {
  services: Services;
  user: SessionUser;
  actor: AuditActor;
  fields: SecurityFields;
  request: Request;
  clientIp: string | null;
}

const securityForm = z.object({
  intent: field.text(100),
  currentPassword: field.text(10_000),
  newPassword: field.text(10_000),
  confirmPassword: field.text(10_000),
  session: field.text(1_000),
  passkey: field.text(1_000),
  name: field.text(1_000),
  proof: field.text(1_000),
});
type SecurityFields = z.output<typeof securityForm>;

/** One handler per form on the page; each section posts its own `intent`. */
const INTENTS: Record<string, (args: IntentArgs) => Promise<Response>> = {
  async "change-password"({ services, user, actor, fields, request, clientIp }) {
    const { currentPassword, newPassword, confirmPassword } = fields;
    const outcome = await changePassword(services, user, actor, { currentPassword, newPassword, confirmPassword });
    // A new password is a privilege change: every session ends and this one gets a new id.
    const cookie = await restartSessions(services, user.id, request, clientIp);
    return redirect(`/settings/security?done=password-${outcome}`, { headers: { "Set-Cookie": cookie } });
  },

  async "revoke-session"({ services, user, actor, fields }) {
    const key = fields.session;
    const { current } = await revokeSession(services, user, key);
    await recordAudit(services, actor, { action: "auth.session_revoked", targetType: "session", targetId: key });
    if (current) return redirect("/login", { headers: { "Set-Cookie": await sessionCookie(services).serialize("", { maxAge: 0 }) } });
    return redirect("/settings/security?done=session-revoked");
  },

  async "revoke-other-sessions"({ services, user, actor }) {
    const count = await revokeOtherSessions(services, user);
    await recordAudit(services, actor, {
      action: "auth.session_revoked",
      targetType: "user",
      targetId: user.id,
      details: { others: count },
    });
    return redirect("/settings/security?done=others-revoked");
  },

  async "rename-passkey"({ services, user, fields }) {
    await renamePasskey(services, user.id, fields.passkey, fields.name);
    return redirect("/settings/security?done=passkey-renamed");
  },

  async "remove-passkey"({ services, user, actor, fields, clientIp }) {
    await limitMfaVerification(services, clientIp);
    await removePasskey(services, actor, user, fields.passkey, fields.proof);
    return redirect("/settings/security?done=passkey-removed");
  },
};

export async function action({ request, context }: ActionFunctionArgs) {
  const { services, clientIp } = context;
  const user = await requireUser(services, request);
  // Which section's form was sent (and which passkey), to show the failure there.
  const sent = { intent: "", passkeyId: "" };
  try {
    const form = await readForm(request);
    const values = formValues(form);
    sent.intent = typeof values.intent === "string" ? values.intent : "";
    sent.passkeyId = typeof values.passkey === "string" ? values.passkey : "";
    const fields = parseFormData(form, securityForm);
    const handler = Object.hasOwn(INTENTS, fields.intent) ? INTENTS[fields.intent] : undefined;
    if (!handler) throw new ValidationError("Unknown action. Reload the page and try again.");
    return await handler({ services, user, actor: auditActor(request, clientIp, user), fields, request, clientIp });
  } catch (error) {
    const failure = actionFailure(error, sent);
    const headers = error instanceof TooManyRequestsError ? { "Retry-After": String(error.retryAfter) } : undefined;
    return data(failure.data, { ...failure.init, headers });
  }
}

export default function SecuritySettings() {
  const { done, passwordHint, sessions, idleDays, absoluteDays, events, mfa, passkeys, reauth, ssoOnly } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const navigation = useNavigation();
  const busyIntent = navigation.state === "submitting" ? navigation.formData?.get("intent") : null;
  const passwordFailure = result?.intent === "change-password" ? result : null;
  const otherFailure = result && result.intent !== "change-password" ? result : null;
  return (
    <div className="space-y-6">
      <div>
        <h1 className="text-2xl font-semibold">Security</h1>
        <p className="mt-1 text-sm text-text-muted">
          Your password, two-step verification and passkeys, where you are logged in, and what happened to your account lately.
        </p>
      </div>
      <FormMessage message={done} tone="success" />
      <FormMessage message={otherFailure?.message} />
      <PasswordSection
        hint={passwordHint}
        message={passwordFailure?.message}
        errors={passwordFailure?.fieldErrors}
        busy={busyIntent === "change-password"}
        reauth={reauth}
        ssoOnly={ssoOnly}
      />
      <MfaSection status={mfa} reauth={reauth} />
      <PasskeysSection passkeys={passkeys} failure={otherFailure} reauth={reauth} />
      <SessionsSection sessions={sessions} idleDays={idleDays} absoluteDays={absoluteDays} />
      <EventsSection events={events} />
    </div>
  );
}
