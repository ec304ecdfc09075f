import { z } from "zod";
import { NOTIFIABLE_KINDS, NOTIFICATION_CHANNELS } from "~/domain/events/catalogue";

/**
 * Notification preferences (docs/events.md#preferences), as /settings/notifications shows them:
 * a channel per notifiable kind, and the language and time zone of the dates in emails.
 */

const Channel = z.enum(NOTIFICATION_CHANNELS).meta({
  id: "NotificationChannel",
  description:
    "`in-app`: in the notification centre; `email`: there and by email at once; `digest`: there and in the daily email; `off`: nowhere.",
});

const Kind = z
  .string()
  .max(100)
  .meta({
    id: "NotifiableKind",
    description: `A notifiable event kind: ${NOTIFIABLE_KINDS.map((entry) => `\`${entry.kind}\``).join(", ")}.`,
  });

const Locale = z.string().max(35).nullable().meta({ description: "A BCP 47 language tag such as `de-DE`; null: English." });
const TimeZone = z.string().max(64).nullable().meta({ description: "An IANA time zone such as `Europe/Berlin`; null: UTC." });

export const NotificationPreferences = z
  .object({
    kinds: z.array(
      z.object({
        kind: Kind,
        label: z.string().meta({ description: "What the settings page calls it." }),
        channel: Channel,
        defaultChannel: Channel,
      }),
    ),
    locale: Locale,
    timeZone: TimeZone,
  })
  .meta({ id: "NotificationPreferences", description: "Your notification preferences: every notifiable kind, in the page's order." });

export const UpdateNotificationPreferences = z
  .strictObject({
    channels: z
      .record(Kind, Channel)
      .optional()
      .meta({ description: "The kinds to change, each to its channel; kinds left out keep theirs." }),
    locale: Locale.optional(),
    timeZone: TimeZone.optional(),
  })
  .meta({ id: "UpdateNotificationPreferences", description: "What to change; anything left out stays." });
