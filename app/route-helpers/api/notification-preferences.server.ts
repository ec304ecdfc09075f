import { z } from "zod";
import { isAppError } from "~/domain/errors";
import { getNotificationPreferences, saveNotificationPreferences } from "~/domain/events/preferences.server";
import { defineOperation, json, type Operation } from "./operation.server";
import { ApiProblem } from "./problem.server";
import { NotificationPreferences, UpdateNotificationPreferences } from "./schemas-notifications";

/**
 * Your notification preferences (docs/events.md#preferences), through the same domain functions as
 * /settings/notifications. Reading needs `files:read` and changing `files:write`, like your
 * webhooks (decision 0037): what you hear of is about your files, and changing it is a lasting
 * change to the account that cannot widen what the token reaches.
 */

const NoParams = z.strictObject({});

export const notificationPreferenceOperations: Operation[] = [
  defineOperation({
    operationId: "getMyNotificationPreferences",
    method: "get",
    path: "/me/notification-preferences",
    tag: "Me",
    summary: "Get your notification preferences",
    description: "For each notifiable kind, where it goes (in-app, email at once, daily digest or off), and how emails show dates.",
    scope: "files:read",
    params: NoParams,
    responses: { 200: { description: "Your preferences.", schema: NotificationPreferences } },
    async handler({ services, principal }) {
      return json(await getNotificationPreferences(services, principal.user.id));
    },
  }),
  defineOperation({
    operationId: "updateMyNotificationPreferences",
    method: "put",
    path: "/me/notification-preferences",
    tag: "Me",
    summary: "Change your notification preferences",
    description:
      "Sets the kinds given to their channels, and the language and time zone of email dates when given; the rest stays. An unknown kind, language or time zone is refused and nothing is saved.",
    scope: "files:write",
    params: NoParams,
    body: UpdateNotificationPreferences,
    responses: { 200: { description: "Your preferences as they are now.", schema: NotificationPreferences } },
    async handler({ services, principal, body }) {
      try {
        await saveNotificationPreferences(services, principal.user.id, {
          channels: body.channels ?? {},
          locale: body.locale,
          timeZone: body.timeZone,
        });
      } catch (error) {
        if (isAppError(error) && error.status === 400) {
          const errors = Object.entries(error.fieldErrors).map(([name, detail]) => ({
            pointer:
              name === "locale" || name === "timeZone"
                ? `/body/${name}`
                : `/body/channels/${name.replace(/~/g, "~0").replace(/\//g, "~1")}`,
            detail,
          }));
          throw new ApiProblem(422, error.message, errors);
        }
        throw error;
      }
      return json(await getNotificationPreferences(services, principal.user.id));
    },
  }),
];
