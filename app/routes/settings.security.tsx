import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { MfaSection } from "~/components/security/mfa-section";
import { loadMfaStatus } from "~/domain/mfa.server";
import { requireUser } from "~/domain/sessions.server";

export const meta: MetaFunction = () => [{ title: "Security · Coffer" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const user = await requireUser(context.services, request);
  return { mfa: await loadMfaStatus(context.services, user) };
}

export default function SecuritySettings() {
  const { mfa } = useLoaderData<typeof loader>();
  return (
    <div className="mx-auto max-w-3xl space-y-6">
      <h1 className="text-2xl font-semibold">Security</h1>
      <MfaSection status={mfa} />
    </div>
  );
}
