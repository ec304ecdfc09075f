import { redirect, type LoaderFunctionArgs } from "@remix-run/node";
import { getUser } from "~/domain/accounts/sessions.server";

export async function loader({ request, context }: LoaderFunctionArgs) {
  const user = await getUser(context.services, request);
  return redirect(user ? "/files" : "/login");
}
