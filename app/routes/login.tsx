import { redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useNavigation, useSearchParams } from "@remix-run/react";
import { Authenticator } from "remix-auth";
import { FormStrategy } from "remix-auth-form";
import { Field, FormMessage } from "~/components/field";
import { ValidationError, UnauthorizedError } from "~/domain/errors";
import { assertCookieCanBeKept, createSession, getUser, safeRedirect } from "~/domain/sessions.server";
import { fieldErrors, loginSchema, verifyLogin, type PublicUser } from "~/domain/users.server";
import type { Services } from "~/services/index.server";
import { actionFailure } from "~/lib/http.server";

export const meta: MetaFunction = () => [{ title: "Log in · Coffer" }];

function authenticator(services: Services) {
  const auth = new Authenticator<PublicUser>();
  auth.use(
    new FormStrategy(async ({ form }) => {
      const parsed = loginSchema.safeParse({ email: form.get("email"), password: form.get("password") });
      if (!parsed.success) throw new ValidationError("Enter your email and password.", fieldErrors(parsed.error));
      const user = await verifyLogin(services, parsed.data.email, parsed.data.password);
      if (!user) throw new UnauthorizedError("That email and password do not match an account.");
      return user;
    }),
    "password",
  );
  return auth;
}

export async function loader({ request, context }: LoaderFunctionArgs) {
  if (await getUser(context.services, request)) throw redirect("/files");
  return null;
}

export async function action({ request, context }: ActionFunctionArgs) {
  const form = await request.clone().formData();
  try {
    assertCookieCanBeKept(context.services, request);
    const user = await authenticator(context.services).authenticate("password", request);
    const cookie = await createSession(context.services, user.id, request, context.clientIp);
    return redirect(safeRedirect(form.get("redirectTo")), { headers: { "Set-Cookie": cookie } });
  } catch (error) {
    return actionFailure(error);
  }
}

export default function Login() {
  const result = useActionData<typeof action>();
  const [params] = useSearchParams();
  const busy = useNavigation().state === "submitting";
  const errors = result?.fieldErrors ?? {};
  return (
    <div className="card mx-auto max-w-md p-6">
      <h1 className="text-2xl font-semibold">Log in to Coffer</h1>
      <p className="mt-1 text-sm text-slate-600">
        New here?{" "}
        <Link to="/register" className="text-blue-800 underline">
          Create an account
        </Link>
      </p>
      <Form method="post" className="mt-6 space-y-4" noValidate>
        <FormMessage message={result?.message} />
        <input type="hidden" name="redirectTo" value={params.get("redirectTo") ?? "/files"} />
        <Field label="Email" name="email" type="email" autoComplete="username" required error={errors.email} />
        <Field label="Password" name="password" type="password" autoComplete="current-password" required error={errors.password} />
        <p className="text-sm"><Link to="/forgot-password" className="text-blue-800 underline">Forgot your password?</Link></p>
        <button type="submit" className="btn-primary w-full" disabled={busy}>
          {busy ? "Logging in…" : "Log in"}
        </button>
      </Form>
    </div>
  );
}
