import { buttonClass } from "~/components/ui/button";

/** The single sign-on entry on the login page: a plain link, so it works without JavaScript. */
export function SsoButton({ sso, redirectTo }: { sso: { label: string; only: boolean } | null; redirectTo: string }) {
  if (!sso) return null;
  return (
    <div className="mt-6 space-y-4">
      <a
        href={`/auth/oidc?redirectTo=${encodeURIComponent(redirectTo)}`}
        className={buttonClass("secondary", "md", "flex w-full justify-center")}
      >
        {sso.label}
      </a>
      {sso.only ? (
        <p className="text-sm text-text-muted">
          This Coffer signs people in only through single sign-on. Your account is created the first time you sign in.
        </p>
      ) : (
        <p className="text-center text-sm text-text-muted">or log in with your password</p>
      )}
    </div>
  );
}
