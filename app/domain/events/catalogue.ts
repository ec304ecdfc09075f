// The event catalogue (docs/events.md): what each activity becomes in the outbox. Pure, so the
// browser-free unit lane checks it, and the docs table is held to it.

/** Every kind an event may have. */
export const EVENT_KINDS = [
  "file.created",
  "file.updated",
  "file.moved",
  "file.copied",
  "file.trashed",
  "file.restored",
  "file.deleted",
  "folder.created",
  "folder.updated",
  "folder.moved",
  "folder.copied",
  "folder.trashed",
  "folder.restored",
  "folder.deleted",
  "trash.emptied",
  "share.created",
  "share.updated",
  "share.revoked",
  "share.accessed",
  "share.dropped",
  "share.granted",
  "share.ungranted",
  "settings.updated",
  "user.quota_changed",
  "webhook.test",
  "webhook.disabled",
  "user.quota_threshold",
  "share.expiring",
  "security.new_device_login",
  "security.mfa_disabled",
  "admin.announcement",
  "job.failed",
  "file.infected",
] as const;

export type EventKind = (typeof EVENT_KINDS)[number];

/** Where a notification of one kind goes (docs/events.md): every choice but "off" shows it in the app. */
export const NOTIFICATION_CHANNELS = ["in-app", "email", "digest", "off"] as const;
export type NotificationChannel = (typeof NOTIFICATION_CHANNELS)[number];

/**
 * The kinds a person is notified of, in the order /settings/notifications lists them, with what
 * the page calls them and their default channel (security kinds: email at once). A new kind
 * becomes notifiable, and gets its preference, by being added here (and to recipientsOf).
 */
export const NOTIFIABLE_KINDS: ReadonlyArray<{ kind: string; label: string; defaultChannel: NotificationChannel }> = [
  { kind: "share.granted", label: "Someone shares a file or folder with me", defaultChannel: "in-app" },
  { kind: "share.dropped", label: "A file arrives through my file-drop link", defaultChannel: "in-app" },
  { kind: "file.created", label: "Someone uploads a file into my shared folder", defaultChannel: "in-app" },
  { kind: "folder.created", label: "Someone creates a folder in my shared folder", defaultChannel: "in-app" },
  { kind: "webhook.disabled", label: "One of my webhooks is turned off after failures", defaultChannel: "email" },
  { kind: "user.quota_threshold", label: "My storage reaches 80 %, 95 % or 100 % of my quota", defaultChannel: "in-app" },
  { kind: "share.expiring", label: "A share link of mine expires within 3 days", defaultChannel: "in-app" },
  { kind: "security.new_device_login", label: "Someone signs in to my account from a new device", defaultChannel: "email" },
  { kind: "security.mfa_disabled", label: "Two-step verification is turned off on my account", defaultChannel: "email" },
  { kind: "admin.announcement", label: "An administrator sends an announcement", defaultChannel: "in-app" },
  { kind: "job.failed", label: "A background job fails for good (administrators only)", defaultChannel: "in-app" },
  { kind: "file.infected", label: "Malware is found in one of my files (it is quarantined)", defaultChannel: "email" },
];

type Json = Record<string, unknown>;

const SIMPLE: Record<string, EventKind> = {
  "file.moved": "file.moved",
  "file.copied": "file.copied",
  "file.trashed": "file.trashed",
  "file.restored": "file.restored",
  "file.deleted": "file.deleted",
  "folder.created": "folder.created",
  "folder.moved": "folder.moved",
  "folder.copied": "folder.copied",
  "folder.trashed": "folder.trashed",
  "folder.restored": "folder.restored",
  "folder.deleted": "folder.deleted",
  "trash.emptied": "trash.emptied",
  "share.created": "share.created",
  "share.updated": "share.updated",
  "share.revoked": "share.revoked",
  "share.used": "share.accessed",
  "share.granted": "share.granted",
  "share.removed": "share.ungranted",
  "user.quota_changed": "user.quota_changed",
  "webhook.test": "webhook.test",
  "webhook.disabled": "webhook.disabled",
  "user.quota_threshold": "user.quota_threshold",
  "share.expiring": "share.expiring",
  "security.new_device_login": "security.new_device_login",
  "security.mfa_disabled": "security.mfa_disabled",
  "admin.announcement": "admin.announcement",
  "job.failed": "job.failed",
  "file.infected": "file.infected",
};

/**
 * Kinds for administrators: an instance-wide webhook hears of them, a user's does not, and the
 * in-app notification goes to their audience (ADMIN_AUDIENCE) rather than to one person.
 */
export const ADMIN_KINDS: readonly EventKind[] = ["admin.announcement", "job.failed"];

/** Who an administrators' kind notifies in the app: every active account, or every active administrator. */
export const ADMIN_AUDIENCE: Readonly<Partial<Record<EventKind, "everyone" | "admins">>> = {
  "admin.announcement": "everyone",
  "job.failed": "admins",
};

/** Kinds Coffer itself tells someone about, with no actor: "Coffer" is who did it. */
export const NOTICE_KINDS: readonly EventKind[] = [
  "webhook.disabled",
  "user.quota_threshold",
  "share.expiring",
  "job.failed",
  "file.infected",
];

/** Activities that change an item in place: one kind, the change named in the payload. */
const UPDATES: Record<string, { kind: EventKind; change: string }> = {
  "file.renamed": { kind: "file.updated", change: "renamed" },
  "file.replaced": { kind: "file.updated", change: "replaced" },
  "file.version_restored": { kind: "file.updated", change: "version_restored" },
  "folder.renamed": { kind: "folder.updated", change: "renamed" },
};

/**
 * The event an activity becomes: its kind and payload (the activity's ids and metadata; never
 * contents or secrets: a settings change names only the keys that changed, since its values may
 * be credentials). Null for an action outside the catalogue (recorded as activity only).
 */
export function eventFor(action: string, details: Json): { kind: EventKind; payload: Json } | null {
  if (action === "file.uploaded") return { kind: details.via === "share" ? "share.dropped" : "file.created", payload: details };
  if (action === "settings.updated") return { kind: "settings.updated", payload: { changed: details.changed ?? [] } };
  const update = UPDATES[action];
  if (update) return { kind: update.kind, payload: { ...details, change: update.change } };
  const kind = SIMPLE[action];
  return kind ? { kind, payload: details } : null;
}

/** What a notification of this kind says, after who did it. */
export function notificationText(kind: string, payload: Json): string {
  const name = typeof payload.name === "string" ? `“${payload.name}”` : "an item";
  switch (kind) {
    case "share.granted":
      return payload.permission === "WRITE" ? "shared an item with you (you can add and change files)" : "shared an item with you";
    case "share.dropped":
      return `sent ${name} through your file-drop link`;
    case "file.created":
      return `uploaded ${name} into your shared folder`;
    case "folder.created":
      return `created the folder ${name} in your shared folder`;
    case "user.quota_threshold":
      return payload.level === 100
        ? "reports your storage is full: uploads are refused until you free some space"
        : `reports your storage is ${typeof payload.level === "number" ? payload.level : "almost"} % full`;
    case "share.expiring":
      return `reminds you that your share link${typeof payload.name === "string" ? ` to “${payload.name}”` : ""} expires on ${typeof payload.expiresAt === "string" ? payload.expiresAt.slice(0, 10) : "a day soon"} (UTC)`;
    case "security.new_device_login":
      return `signed in from a new device: ${typeof payload.device === "string" ? payload.device : "unknown"}${typeof payload.ip === "string" ? `, IP ${payload.ip}` : ""}. Not you? Change your password and log out the other sessions`;
    case "security.mfa_disabled":
      return payload.method === "passkeys"
        ? "removed the account's last passkey: two-step verification is off"
        : "turned off two-step verification (authenticator app) for the account";
    case "admin.announcement":
      return `announced “${typeof payload.title === "string" ? payload.title : "news"}”${typeof payload.body === "string" && payload.body ? `: ${payload.body}` : ""}`;
    case "job.failed":
      return `reports the background job “${typeof payload.queue === "string" ? payload.queue : "unknown"}” failed after its retries`;
    case "file.infected":
      return `found malware (${typeof payload.signature === "string" ? payload.signature : "unknown"}) in ${name}: the file is quarantined and cannot be downloaded or shared`;
    case "webhook.disabled":
      return `turned off your webhook to ${typeof payload.host === "string" ? payload.host : "an endpoint"}: its deliveries kept failing`;
    default:
      return kind.replace(/[._]/g, " ");
  }
}
