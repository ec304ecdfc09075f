import { isRouteErrorResponse, Link, useRouteError } from "@remix-run/react";

/**
 * The error page of the single sign-on routes: says what went wrong and offers a fresh start
 * (the login page, or for a failed confirmation of a signed-in person, the page they came from).
 */
export function SsoErrorBoundary() {
  const error = useRouteError();
  const status = isRouteErrorResponse(error) ? error.status : 500;
  const body = isRouteErrorResponse(error) ? (error.data as { message?: string; returnTo?: string } | null) : null;
  const returnTo = body?.returnTo;
  return (
    <div className="card mx-auto max-w-lg p-6" role="alert">
      <h1 className="text-xl font-semibold">{status === 503 ? "Sign-in provider unavailable" : returnTo ? "Could not confirm it's you" : "Single sign-on failed"}</h1>
      <p className="mt-2 text-slate-700">{body?.message ?? "An unexpected error happened on our side. Nothing you did caused it; please try again."}</p>
      <p className="mt-4">
        <Link to={returnTo ?? "/login"} className="text-blue-800 underline">
          {returnTo ? "Back to where you were" : "Back to the login page"}
        </Link>
      </p>
    </div>
  );
}
