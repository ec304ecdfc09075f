import { redirect, type ActionFunctionArgs } from "@remix-run/node";
import { auditActor, recordAudit } from "~/domain/audit/audit.server";
import { destroySession, getUser } from "~/domain/accounts/sessions.server";

export async function loader() {
  // Logging out changes state, so it is a POST; a GET just goes home.
  return redirect("/");
}

export async function action({ request, context }: ActionFunctionArgs) {
  const user = await getUser(context.services, request);
  const cookie = await destroySession(context.services, request);
  if (user) {
    await recordAudit(context.services, auditActor(request, context.clientIp, user), {
      action: "auth.logout",
      targetType: "session",
      targetId: user.sessionId,
    });
  }
  return redirect("/login", { headers: { "Set-Cookie": cookie } });
}
