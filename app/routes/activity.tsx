import { Card } from "~/components/ui/card";
import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { ActivityList } from "~/components/activity-list";
import { myActivity } from "~/domain/audit/activity.server";
import { requireUser } from "~/route-helpers/guards.server";
import { loaderFailure } from "~/route-helpers/http.server";
import { field, parseQuery } from "~/route-helpers/forms.server";
import { z } from "zod";
import { ButtonLink } from "~/components/ui/button";

export const meta: MetaFunction = () => [{ title: "My activity · Coffer" }];

/** GET /activity[?after=<cursor>]: what I did, newest first, a page at a time. */
export async function loader({ request, context }: LoaderFunctionArgs) {
  const user = await requireUser(context.services, request);
  const after = parseQuery(request, z.object({ after: field.hint() })).after ?? null;
  try {
    const page = await myActivity(context.services, user, after);
    return { ...page, paged: after !== null };
  } catch (error) {
    loaderFailure(error);
  }
}

export default function Activity() {
  const { entries, nextCursor, paged } = useLoaderData<typeof loader>();
  return (
    <div className="space-y-6">
      <div>
        <h1 className="text-2xl font-semibold">My activity</h1>
        <p className="mt-1 text-sm text-text-muted">What you did with your files and folders, newest first.</p>
      </div>
      <Card as="section" padding="none" className="px-4 py-2" aria-labelledby="activity-list-heading">
        <h2 id="activity-list-heading" className="sr-only">
          Activity
        </h2>
        {entries.length === 0 ? (
          <div className="p-8 text-center">
            <p className="font-medium">{paged ? "There is nothing older." : "Nothing here yet."}</p>
            <p className="mt-1 text-sm text-text-muted">
              {paged
                ? "You have reached the beginning of your activity."
                : "Upload a file or create a folder in My files, and it will show up here."}
            </p>
          </div>
        ) : (
          <ActivityList entries={entries} linkItems testId="my-activity" />
        )}
      </Card>
      {paged || nextCursor ? (
        <nav aria-label="Pages" className="flex flex-wrap items-center justify-end gap-2">
          {paged ? (
            <ButtonLink variant="secondary" to="/activity">
              Newest
            </ButtonLink>
          ) : null}
          {nextCursor ? (
            <ButtonLink variant="secondary" to={`/activity?after=${encodeURIComponent(nextCursor)}`} rel="next">
              Older
            </ButtonLink>
          ) : null}
        </nav>
      ) : null}
    </div>
  );
}
