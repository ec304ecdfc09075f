import { Card } from "~/components/ui/card";
import { isRouteErrorResponse, Link, useRouteError } from "@remix-run/react";

interface SsoErrorBody {
  message?: string;
  /** Set when a confirmation of a signed-in person failed: the page they came from. */
  returnTo?: string;
  /** Whether their session still exists (it normally does: a failed confirmation ends nothing). */
  signedIn?: boolean;
}

/** Names of the pages that send people to confirm it's them, for the way back. */
const PAGE_NAMES: Array<[RegExp, string]> = [
  [/^\/settings\/security\/mfa(?:[?#]|$)/, "two-step verification settings"],
  [/^\/settings\/security(?:[?#]|$)/, "security settings"],
  [/^\/settings\/privacy(?:[?#]|$)/, "privacy settings"],
  [/^\/admin(?:[/?#]|$)/, "administration"],
];

function pageName(path: string): string {
  return PAGE_NAMES.find(([pattern]) => pattern.test(path))?.[1] ?? "the page you were on";
}

/**
 * The error page of the single sign-on routes: says what went wrong and what happens next. A
 * failed login leads back to the login page; a failed confirmation of a signed-in person leaves
 * them signed in, so it leads back to the page they were on, where they can try again.
 */
export function SsoErrorBoundary() {
  const error = useRouteError();
  const status = isRouteErrorResponse(error) ? error.status : 500;
  const body = isRouteErrorResponse(error) ? (error.data as SsoErrorBody | null) : null;
  const returnTo = body?.returnTo;
  const message = body?.message ?? "An unexpected error happened on our side. Nothing you did caused it; please try again.";
  return (
    <Card padding="none" className="mx-auto max-w-lg p-6" role="alert">
      <h1 className="text-xl font-semibold">
        {status === 503 ? "Sign-in provider unavailable" : returnTo ? "Could not confirm it's you" : "Single sign-on failed"}
      </h1>
      <p className="mt-2 text-text-muted">{message}</p>
      {returnTo ? (
        body?.signedIn === false ? (
          <>
            <p className="mt-2 text-text-muted" data-testid="sso-next-step">
              Nothing was changed. You are no longer logged in: log in again to go on.
            </p>
            <p className="mt-4">
              <Link to={`/login?redirectTo=${encodeURIComponent(returnTo)}`} className="text-accent-text underline">
                Log in again
              </Link>
            </p>
          </>
        ) : (
          <>
            <p className="mt-2 text-text-muted" data-testid="sso-next-step">
              {`Nothing was changed and you are still logged in. Go back to ${pageName(returnTo)} to try again.`}
            </p>
            <p className="mt-4">
              <Link to={returnTo} className="text-accent-text underline">
                {`Back to ${pageName(returnTo)}`}
              </Link>
            </p>
          </>
        )
      ) : (
        <p className="mt-4">
          <Link to="/login" className="text-accent-text underline">
            Back to the login page
          </Link>
        </p>
      )}
    </Card>
  );
}
