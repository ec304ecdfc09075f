import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Link, useActionData, useLoaderData } from "@remix-run/react";
import { MfaSection, type MfaActionResult } from "~/components/security/mfa-section";
import { PasskeysSection } from "~/components/security/passkeys-section";
import { auditActor } from "~/domain/audit/audit.server";
import { ValidationError } from "~/domain/errors";
import {
  confirmTotpEnrollment,
  disableTotp,
  loadMfaStatus,
  pendingEnrollment,
  regenerateRecoveryCodes,
  startTotpEnrollment,
} from "~/domain/accounts/mfa.server";
import { listPasskeys } from "~/domain/accounts/passkeys.server";
import { limitMfaVerification } from "~/domain/rate-limit.server";
import { reauthMethods } from "~/domain/accounts/reauth.server";
import { requireUser } from "~/route-helpers/guards.server";
import { actionFailure, retryAfterHeaders } from "~/route-helpers/http.server";
import { z } from "zod";
import { field, formValues, parseFormData, readForm } from "~/route-helpers/forms.server";

export const meta: MetaFunction = () => [{ title: "Two-step verification · Coffer" }];
export const headers = retryAfterHeaders;

export async function loader({ request, context }: LoaderFunctionArgs) {
  const user = await requireUser(context.services, request);
  const [status, enrollment, passkeys, reauth] = await Promise.all([
    loadMfaStatus(context.services, user),
    pendingEnrollment(context.services, user),
    listPasskeys(context.services, user.id),
    reauthMethods(context.services, user),
  ]);
  return { status, enrollment: enrollment ? { secret: enrollment.secret, qrSvg: enrollment.qrSvg } : null, passkeys, reauth };
}

const mfaForm = z.object({ intent: field.text(100), code: field.text(1_000), proof: field.text(1_000) });

export async function action({ request, context }: ActionFunctionArgs) {
  const { services, clientIp } = context;
  const user = await requireUser(services, request);
  const actor = auditActor(request, clientIp, user);
  // Which section's form was sent, to show the outcome there.
  let intent = "";
  try {
    const form = await readForm(request);
    const sent = formValues(form).intent;
    intent = typeof sent === "string" ? sent : "";
    const { code, proof } = parseFormData(form, mfaForm);
    switch (intent) {
      case "start":
        await startTotpEnrollment(services, user.id);
        return redirect("/settings/security/mfa");
      case "confirm": {
        await limitMfaVerification(services, clientIp);
        const recoveryCodes = await confirmTotpEnrollment(services, actor, user.id, code);
        return data<MfaActionResult>({ ok: true, intent, message: "Two-step verification is on.", recoveryCodes });
      }
      case "regenerate": {
        await limitMfaVerification(services, clientIp);
        const recoveryCodes = await regenerateRecoveryCodes(services, actor, user, proof);
        return data<MfaActionResult>({ ok: true, intent, message: "New recovery codes made; the old ones no longer work.", recoveryCodes });
      }
      case "disable":
        await limitMfaVerification(services, clientIp);
        await disableTotp(services, actor, user, proof);
        return data<MfaActionResult>({ ok: true, intent, message: "Two-step verification is off." });
      default:
        throw new ValidationError("Unknown action.");
    }
  } catch (error) {
    const failure = actionFailure(error);
    return data<MfaActionResult>({ ...(failure.data as MfaActionResult), intent }, failure.init ?? undefined);
  }
}

export default function MfaPage() {
  const { status, enrollment, passkeys, reauth } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  return (
    <div className="mx-auto max-w-3xl space-y-4">
      <p className="text-sm">
        <Link to="/settings/security" className="text-accent-text underline">
          ← Security
        </Link>
      </p>
      <MfaSection status={status} enrollment={enrollment} result={result} reauth={reauth} />
      {/* A passkey is a second factor too: admins who must enroll may add one here instead. */}
      <PasskeysSection passkeys={passkeys} manage={false} reauth={reauth} />
    </div>
  );
}
