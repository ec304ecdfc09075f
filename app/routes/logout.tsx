import { redirect, type ActionFunctionArgs } from "@remix-run/node";
import { destroySession } from "~/domain/sessions.server";

export async function loader() {
  // Logging out changes state, so it is a POST; a GET just goes home.
  return redirect("/");
}

export async function action({ request, context }: ActionFunctionArgs) {
  const cookie = await destroySession(context.services, request);
  return redirect("/login", { headers: { "Set-Cookie": cookie } });
}
