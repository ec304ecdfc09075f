import { Card } from "~/components/ui/card";
import { Button, ButtonLink } from "~/components/ui/button";
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { z } from "zod";
import { CsrfInput } from "~/components/csrf-input";
import { FormMessage } from "~/components/field";
import { NotificationList } from "~/components/notification-list";
import {
  listNotifications,
  markAllNotificationsRead,
  markNotificationRead,
  unreadNotifications,
} from "~/domain/events/notifications.server";
import { field, parseForm, parseQuery } from "~/route-helpers/forms.server";
import { requireUser } from "~/route-helpers/guards.server";
import { actionFailure, actionSuccess, loaderFailure } from "~/route-helpers/http.server";

export const meta: MetaFunction = () => [{ title: "Notifications · Coffer" }];

/** GET /notifications[?after=<cursor>]: what others did that concerns me, newest first, by day. */
export async function loader({ request, context }: LoaderFunctionArgs) {
  const { services } = context;
  const user = await requireUser(services, request);
  const after = parseQuery(request, z.object({ after: field.hint() })).after ?? null;
  try {
    const [page, unread] = await Promise.all([listNotifications(services, user.id, after), unreadNotifications(services, user.id)]);
    return { ...page, unread, paged: after !== null };
  } catch (error) {
    loaderFailure(error);
  }
}

const notificationForm = z.object({ intent: field.oneOf(["read", "read-all"]), id: field.text(300) });

/** POST /notifications: intent=read&id=… marks one of mine read; intent=read-all marks them all. */
export async function action({ request, context }: ActionFunctionArgs) {
  const { services } = context;
  const user = await requireUser(services, request);
  try {
    const { intent, id } = await parseForm(request, notificationForm);
    if (intent === "read") {
      await markNotificationRead(services, user.id, id);
      return actionSuccess("Marked as read.");
    }
    const count = await markAllNotificationsRead(services, user.id);
    return actionSuccess(
      count === 0 ? "Nothing was unread." : count === 1 ? "Marked 1 notification as read." : `Marked ${count} notifications as read.`,
    );
  } catch (error) {
    return actionFailure(error);
  }
}

export default function Notifications() {
  const { days, nextCursor, paged, unread } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const busy = useNavigation().state !== "idle";
  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-end justify-between gap-4">
        <div>
          <h1 className="text-2xl font-semibold">Notifications</h1>
          <p className="mt-1 text-sm text-text-muted" data-testid="unread-count">
            {unread === 0 ? "Nothing unread." : unread === 1 ? "1 unread." : `${unread} unread.`}
          </p>
        </div>
        {unread > 0 ? (
          <Form method="post">
            <CsrfInput />
            <Button type="submit" name="intent" value="read-all" variant="secondary" disabled={busy}>
              Mark all read
            </Button>
          </Form>
        ) : null}
      </div>
      <FormMessage message={result?.message} tone={result?.ok ? "success" : "error"} />
      <Card as="section" padding="none" className="px-4 py-3" aria-labelledby="notifications-heading">
        <h2 id="notifications-heading" className="sr-only">
          Notifications by day
        </h2>
        {days.length === 0 ? (
          <div className="p-8 text-center">
            <p className="font-medium">{paged ? "There is nothing older." : "No notifications yet."}</p>
            <p className="mt-1 text-sm text-text-muted">
              {paged
                ? "You have reached your first notification."
                : "When someone shares a file or folder with you, sends a file through one of your file-drop links, or adds a file to a folder you shared, it shows up here."}
            </p>
          </div>
        ) : (
          <NotificationList days={days} busy={busy} />
        )}
      </Card>
      {paged || nextCursor ? (
        <nav aria-label="Pages" className="flex flex-wrap items-center justify-end gap-2">
          {paged ? (
            <ButtonLink to="/notifications" variant="secondary">
              Newest
            </ButtonLink>
          ) : null}
          {nextCursor ? (
            <ButtonLink to={`/notifications?after=${encodeURIComponent(nextCursor)}`} variant="secondary" rel="next">
              Older
            </ButtonLink>
          ) : null}
        </nav>
      ) : null}
    </div>
  );
}
