import { redirect, type ActionFunctionArgs, type LoaderFunctionArgs } from "@remix-run/node";
import { z } from "zod";
import { auditActor } from "~/domain/audit/audit.server";
import { isAppError, ValidationError } from "~/domain/errors";
import { finishRegistration, startRegistration } from "~/domain/accounts/passkey-registration.server";
import { limitMfaVerification } from "~/domain/rate-limit.server";
import { requireUser } from "~/route-helpers/guards.server";

/**
 * JSON endpoint the "Add a passkey" button calls: `{ step: "options" }` returns the WebAuthn
 * creation options (with `proof`, the password or a current code, unless the login is recent),
 * `{ step: "verify", name, response }` stores the new passkey. Renaming and
 * removing are plain forms on /settings/security.
 */
export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireUser(context.services, request);
  return redirect("/settings/security");
}

const bodySchema = z.object({
  step: z.enum(["options", "verify"]),
  name: z.unknown().optional(),
  proof: z.string().max(1024).optional(),
  response: z.unknown().optional(),
});

export async function action({ request, context }: ActionFunctionArgs) {
  const { services, clientIp } = context;
  const user = await requireUser(services, request);
  const headers = { "Cache-Control": "no-store" };
  try {
    const body = bodySchema.safeParse(await request.json().catch(() => null));
    if (!body.success) throw new ValidationError("Send a JSON body with a step.");
    // Both steps may check a password or signature: they count against the two-step limit.
    await limitMfaVerification(services, clientIp);
    const actor = auditActor(request, clientIp, user);
    if (body.data.step === "options") {
      return Response.json(
        { ok: true as const, options: await startRegistration(services, request, actor, user, body.data.proof) },
        { headers },
      );
    }
    const passkey = await finishRegistration(services, request, actor, user.id, {
      name: body.data.name,
      response: body.data.response,
    });
    return Response.json({ ok: true as const, passkey }, { headers });
  } catch (error) {
    if (!isAppError(error)) throw error;
    return Response.json({ ok: false as const, message: error.message, fieldErrors: error.fieldErrors }, { status: error.status, headers });
  }
}
