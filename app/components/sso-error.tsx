import { isRouteErrorResponse, Link, useRouteError } from "@remix-run/react";

/** The error page of the single sign-on routes: says what went wrong and offers a fresh start. */
export function SsoErrorBoundary() {
  const error = useRouteError();
  const status = isRouteErrorResponse(error) ? error.status : 500;
  const detail = isRouteErrorResponse(error) ? (error.data as { message?: string } | null)?.message : undefined;
  return (
    <div className="card mx-auto max-w-lg p-6" role="alert">
      <h1 className="text-xl font-semibold">{status === 503 ? "Sign-in provider unavailable" : "Single sign-on failed"}</h1>
      <p className="mt-2 text-slate-700">{detail ?? "An unexpected error happened on our side. Nothing you did caused it; please try again."}</p>
      <p className="mt-4">
        <Link to="/login" className="text-blue-800 underline">
          Back to the login page
        </Link>
      </p>
    </div>
  );
}
