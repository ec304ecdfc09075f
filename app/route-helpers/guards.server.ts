import { redirect } from "@remix-run/node";
import { MFA_ENROLL_PATH, mustEnrollMfa } from "~/domain/accounts/mfa.server";
import { PASSKEY_REGISTER_PATH } from "~/domain/accounts/passkeys.server";
import { getUser, type SessionUser } from "~/domain/accounts/sessions.server";
import type { Services } from "~/services/index.server";

/**
 * The guards every route calls first. They stop the request with a response of their own (a
 * redirect to /login or to two-step enrolment, a 403), so no route translates an error for them;
 * a route's own catch passes a thrown Response on untouched.
 */

/** The signed-in user, or a redirect to /login that brings them back afterwards. */
export async function requireUser(services: Services, request: Request): Promise<SessionUser> {
  const user = await getUser(services, request);
  if (!user) {
    const url = new URL(request.url);
    const redirectTo = `${url.pathname}${url.search}`;
    throw redirect(`/login?redirectTo=${encodeURIComponent(redirectTo)}`);
  }
  const path = new URL(request.url).pathname;
  const enrolling = path.startsWith(MFA_ENROLL_PATH) || path === PASSKEY_REGISTER_PATH;
  if (!enrolling && (await mustEnrollMfa(services, user))) throw redirect(MFA_ENROLL_PATH);
  return user;
}

/** The signed-in administrator; anyone else signed in gets 403. */
export async function requireAdmin(services: Services, request: Request): Promise<SessionUser> {
  const user = await requireUser(services, request);
  if (user.role !== "ADMIN") throw new Response("Only administrators can open this page.", { status: 403 });
  return user;
}
