import type { MetaFunction } from "@remix-run/node";
import { Link } from "@remix-run/react";

export const meta: MetaFunction = () => [{ title: "Account deleted · Coffer" }];

export default function AccountDeleted() {
  return (
    <div className="mx-auto max-w-md space-y-3 py-10 text-center">
      <h1 className="text-2xl font-semibold">Your account was deleted</h1>
      <p className="text-slate-700">Your files, folders, versions and shares are gone, and every session was signed out.</p>
      <p>
        <Link to="/register" className="underline">
          Create a new account
        </Link>
      </p>
    </div>
  );
}
