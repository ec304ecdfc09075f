/**
 * What every environment variable of app/config.server.ts means, for people. It is the single
 * source of docs/configuration.md and .env.example (`npm run docs:config` writes both; a test fails
 * when they are out of date). The `Record<keyof Env, …>` type makes a variable without an entry,
 * or an entry without a variable, a type error. `default` is the value as a person writes it; a
 * test parses it with the schema and compares it with the schema's own default.
 */
import type { Env } from "./config.server";

export const CONFIG_SECTIONS = [
  "Server",
  "Database",
  "Storage",
  "Encryption at rest",
  "Backups",
  "Search",
  "Cache",
  "Mail",
  "Uploads",
  "Single sign-on",
  "Abuse protection",
  "Tracing",
] as const;

export type ConfigSection = (typeof CONFIG_SECTIONS)[number];

/** A line under a section's heading (Markdown; links relative to docs/). */
export const SECTION_NOTES: Partial<Record<ConfigSection, string>> = {
  "Encryption at rest": "See [encryption.md](encryption.md).",
  "Single sign-on": "See [sso.md](sso.md).",
  Backups: "See [backups.md](backups.md).",
  Search: "See [search.md](search.md) for what content search reads.",
  Tracing:
    "OpenTelemetry's standard variables; see [tracing.md](tracing.md). `OTEL_EXPORTER_OTLP_HEADERS` and " +
    "`OTEL_EXPORTER_OTLP_TIMEOUT` are read by the exporter itself.",
};

export interface EnvVarDoc {
  section: ConfigSection;
  /** The default as written in the environment; absent when unset means "off" or "embedded". */
  default?: string;
  /** What Coffer does when the variable is unset and it has no `default`. */
  unset?: string;
  /** Markdown, one paragraph; links relative to docs/. */
  description: string;
}

export const ENV_DOCS: Record<keyof Env, EnvVarDoc> = {
  NODE_ENV: {
    section: "Server",
    default: "development",
    description:
      "`development`, `production` or `test`. `npm start` sets `production`. In production the session cookie is `Secure` " +
      "(browsers then keep it only over HTTPS or on localhost) unless `APP_URL` starts with `http://`; served over HTTPS " +
      "(`APP_URL` `https://…` or `TLS_*` set) it is named `__Host-coffer_session` (share-link cookies `__Secure-coffer_share`), " +
      "and responses over HTTPS carry HSTS.",
  },
  HOST: { section: "Server", default: "0.0.0.0", description: "Interface the HTTP server listens on." },
  PORT: { section: "Server", default: "3000", description: "HTTP port (0–65535); the HTTPS port when `TLS_CERT_FILE` is set." },
  TLS_CERT_FILE: {
    section: "Server",
    unset: "plain HTTP",
    description:
      "PEM certificate (with its chain). With `TLS_KEY_FILE`, Coffer serves HTTPS itself on `PORT` (and no plain HTTP): " +
      "TLS 1.2 and 1.3, forward-secret AEAD cipher suites only. Read at start-up: restart after renewing. Set both or " +
      "neither; `APP_URL`, if set, must then be `https://`.",
  },
  TLS_KEY_FILE: { section: "Server", description: "PEM private key of `TLS_CERT_FILE`." },
  DATA_DIR: {
    section: "Server",
    default: "./data",
    description: "Local state: the embedded PostgreSQL (`postgres/`), local objects (`objects/`) and the generated session secret.",
  },
  APP_URL: {
    section: "Server",
    unset: "the request's origin",
    description:
      "Public URL (`http://` or `https://`), e.g. `https://files.example.com`: scheme, host and port only, since Coffer is " +
      "served from the root path. It is Coffer's origin whatever `Host` header a reverse proxy passes on: forms, uploads and " +
      "Socket.IO accept browsers only from this origin, and pages, links and mails are on it. Unset, the origin is the " +
      "request's scheme and `Host`, or, from a proxy `TRUST_PROXY` trusts, its `X-Forwarded-Proto` and `X-Forwarded-Host` " +
      "(so a proxy that rewrites `Host` works when it passes the original on there; from any other sender these headers " +
      "are ignored). A `Host` ending in `:443` means `https://` (an HTTPS proxy Coffer does not trust). Set `http://…` to " +
      "serve a production instance deliberately over plain HTTP (e.g. on a LAN); login then explains this if it is needed.",
  },
  WEBHOOK_ALLOW_NETWORKS: {
    section: "Server",
    unset: "webhooks reach only public addresses",
    description:
      "Comma-separated addresses and CIDRs that webhooks may reach although they are private, loopback or link-local " +
      "(e.g. `127.0.0.1/32` for the tests' local receiver, or `10.1.2.3/32` for a receiver on your network). Every other " +
      "private, loopback, link-local, unique-local and metadata address stays refused; see [webhooks.md](webhooks.md).",
  },
  WEBHOOK_DELIVERY_RETENTION_DAYS: {
    section: "Server",
    default: "30",
    description:
      "Days a webhook delivery stays in the delivery log (page and API) before the hourly `purge-event-history` job deletes it, " +
      "whatever its outcome; see [webhooks.md](webhooks.md#retention).",
  },
  EVENT_RETENTION_DAYS: {
    section: "Server",
    default: "30",
    description:
      "Days an outbox event is kept after it was written, once every sink has had it and no webhook delivery or notification " +
      "still points at it; the hourly `purge-event-history` job deletes it then. See [webhooks.md](webhooks.md#retention).",
  },
  NOTIFICATION_RETENTION_DAYS: {
    section: "Server",
    default: "90",
    description:
      "Days a notification stays in `/notifications` (read or not), and the record of a notification email or digest is kept, " +
      "before the hourly `purge-event-history` job deletes it; see [events.md](events.md#retention).",
  },
  SESSION_SECRET: {
    section: "Server",
    unset: "generated once into `DATA_DIR/session-secret`",
    description:
      "Signs session cookies; at least 32 characters. Set it when several instances serve one database. It also derives " +
      "the key that encrypts two-step verification secrets: changing it makes existing authenticator set-ups unusable.",
  },
  SESSION_TTL_DAYS: {
    section: "Server",
    default: "30",
    description:
      "Default of the *absolute* session timeout in days (positive integer): a login ends this long after it started. " +
      "Administrators change it, and the idle timeout (default 14 days, at most the absolute one), at `/admin/settings`; " +
      "changes apply to existing sessions at once.",
  },
  TRUST_PROXY: {
    section: "Server",
    default: "false",
    description:
      "Which reverse proxies may set `X-Forwarded-For`/`-Proto` (client IP, HTTPS; also the tus upload URLs), " +
      "`X-Request-Id` (the request's id in the logs, see [logging.md](logging.md)) and, without " +
      "`APP_URL`, `X-Forwarded-Host` (the public host): `false`; a number of proxy hops in front of Coffer (e.g. `1`); or a " +
      "comma-separated list of proxy addresses, CIDRs and the names `loopback`, `linklocal`, `uniquelocal` (e.g. " +
      "`loopback,10.0.0.0/8`); `true` trusts any sender, which is safe only when nothing but the proxy can reach Coffer. " +
      "With `APP_URL` `https://` and a trusted proxy, requests that reached the proxy over plain HTTP are redirected (308) " +
      "to `APP_URL`, except `/healthz` and `/readyz`.",
  },
  LOG_LEVEL: {
    section: "Server",
    default: "info",
    description:
      "`debug`, `info`, `warn` or `error`. Access lines of pages and actions are `info`; of health checks, `/metrics`, " +
      "static files and Socket.IO polls `debug` (see [logging.md](logging.md)).",
  },
  METRICS_TOKEN: {
    section: "Server",
    unset: "`/metrics` answers a plain 404 (nothing logged)",
    description:
      "Turns on `GET /metrics` (Prometheus, see [metrics.md](metrics.md)) for requests with `Authorization: Bearer <token>`; " +
      "others get 401. At least 16 printable ASCII characters, e.g. `openssl rand -hex 32`.",
  },
  SHUTDOWN_GRACE_SECONDS: {
    section: "Server",
    default: "30",
    description:
      "On SIGTERM or SIGINT, how long requests in flight may take to finish (0–3600). `/readyz` answers 503 at once and " +
      "no new connection is accepted; uploads still running at the end keep what arrived (they resume from there), then " +
      "what is left is cut. Give the supervisor a stop timeout about 10 s longer (Kubernetes " +
      "`terminationGracePeriodSeconds`, Docker `stop_grace_period`, systemd `TimeoutStopSec`). See " +
      "[outages.md](outages.md#shutdown-sigterm).",
  },
  SHUTDOWN_DELAY_SECONDS: {
    section: "Server",
    default: "0",
    description:
      "On SIGTERM or SIGINT, how long Coffer keeps serving as usual (0–300), `/readyz` answering 503, before the drain of " +
      "`SHUTDOWN_GRACE_SECONDS` begins. Behind a load balancer that health-checks `/readyz` (HAProxy, " +
      "[rollback.md](rollback.md#rolling-restart)), set it above the time the balancer takes to take the instance out " +
      "(check interval × failures, e.g. 3 for 1 s × 2): until then the balancer still sends requests, and an instance that " +
      "closes its idle connections at once would race it. 0 with Kubernetes, whose `preStop` pause does the same. " +
      "Add it to the supervisor's stop timeout.",
  },

  DATABASE_URL: {
    section: "Database",
    unset: "embedded PostgreSQL under `DATA_DIR/postgres`",
    description: "`postgres://` or `postgresql://` URL of an external PostgreSQL.",
  },
  EMBEDDED_PG_PORT: {
    section: "Database",
    default: "54329",
    description: "Port of the embedded PostgreSQL on 127.0.0.1 (only when `DATABASE_URL` is unset).",
  },

  S3_ENDPOINT: {
    section: "Storage",
    unset: "local disk (`DATA_DIR/objects`)",
    description:
      "`http://` or `https://` URL of an S3-compatible object store: AWS, MinIO, Ceph, OpenStack Swift (s3api), R2, … " +
      "(see [storage.md](storage.md)).",
  },
  S3_ACCESS_KEY: { section: "Storage", description: "Access key. Required when `S3_ENDPOINT` is set." },
  S3_SECRET_KEY: { section: "Storage", description: "Secret key. Required when `S3_ENDPOINT` is set." },
  S3_BUCKET: {
    section: "Storage",
    default: "coffer",
    description: "Bucket name, DNS-compliant (3–63 lowercase letters, digits, dots, hyphens). Created if missing.",
  },
  S3_REGION: { section: "Storage", default: "us-east-1", description: "Region used to sign requests." },
  S3_FORCE_PATH_STYLE: {
    section: "Storage",
    default: "true",
    description: "Path-style URLs (`endpoint/bucket/key`) instead of virtual-hosted (`bucket.endpoint/key`).",
  },
  S3_PART_SIZE: { section: "Storage", default: "32MiB", description: "Multipart part size; at least `5MiB`." },
  S3_UPLOAD_CONCURRENCY: {
    section: "Storage",
    default: "8",
    description:
      "Parts sent at once (1–64) by server-side copies of large objects and by tus uploads spooled through temp files " +
      "(see `S3_UPLOAD_MEMORY`).",
  },
  S3_UPLOAD_MEMORY: {
    section: "Storage",
    default: "256MiB",
    description:
      "Memory for tus uploads streaming into S3, across all uploads. Each upload receiving bytes counts two parts " +
      "(2 × `S3_PART_SIZE`, or its remaining size if that is less): the part it is sending is kept in memory, so a dropped " +
      "connection or a failed part request loses nothing, and so is the previous part until S3 has answered for it. A " +
      "small upload (up to 5 MiB) is held whole until it is stored with one put. When it is used up, further uploads " +
      "are spooled through temp files in the OS temp directory (slower).",
  },
  S3_SSE: {
    section: "Storage",
    description:
      "`AES256` or `aws:kms`: server-side encryption the S3 store applies to every object Coffer writes (puts, multipart " +
      "uploads, copies, tus uploads). The store must support it (MinIO with KES, AWS); Swift's s3api without its encryption " +
      "middleware refuses it. Independent of `ENCRYPTION_MASTER_KEY` (Coffer's own encryption).",
  },
  S3_SSE_KMS_KEY_ID: {
    section: "Storage",
    unset: "the store's default key",
    description: "KMS key id for `S3_SSE=aws:kms`.",
  },
  STORAGE_DEDUP: {
    section: "Storage",
    default: "false",
    description:
      "Store identical contents (same SHA-256) once: uploads of contents already stored, and copies, share one object, " +
      "deleted only with its last file or version. Off by default in this release: turn it on once no instance of an " +
      "older release runs and no rollback past this one is planned (older releases delete objects without counting " +
      "references). See [storage.md](storage.md#deduplication).",
  },
  DOWNLOAD_REDIRECT: {
    section: "Storage",
    default: "off",
    description:
      "`presigned`: an authorised download (`/download/…`, a version's, a share link's) is answered with a 302 to a " +
      "short-lived presigned S3 GET URL, so the S3 store (or a CDN in front of it) sends the bytes instead of Coffer. " +
      "Access is checked, share link limits counted and usage recorded as before. Needs S3 storage, and clients that can " +
      "reach `S3_ENDPOINT`; refused with `ENCRYPTION_MASTER_KEY`. Objects in the cold tier or in a store being migrated " +
      "from still stream through Coffer. See [storage.md](storage.md#download-offloading).",
  },
  DOWNLOAD_REDIRECT_SECONDS: {
    section: "Storage",
    default: "60",
    description: "How long a presigned download URL is valid (1–3600 s). It only has to last until the client starts the download.",
  },
  COLD_STORAGE: {
    section: "Storage",
    unset: "no cold tier",
    description:
      "Where files not read for the days set on /admin/settings are moved: an absolute directory, `s3://bucket` (a bucket " +
      "on `S3_ENDPOINT` with its keys) or `s3+https://KEY:SECRET@host[:port]/bucket[?region=…]` (another server). They are " +
      "read from there at once when asked for and moved back in the background (see [storage-tiers.md](storage-tiers.md)).",
  },
  COLD_STORAGE_CLASS: {
    section: "Storage",
    unset: "no cold tier",
    description:
      "Instead of `COLD_STORAGE`, with S3 storage: the storage class files not read for the days set on /admin/settings " +
      "are rewritten in, in place (same bucket and key), e.g. `STANDARD_IA`, `ONEZONE_IA`, `GLACIER_IR` or " +
      "`INTELLIGENT_TIERING`. They are read from it at once and moved back to `STANDARD` in the background. Classes that " +
      "need a restore request before a read (`GLACIER`, `DEEP_ARCHIVE`) are refused (see [storage-tiers.md](storage-tiers.md)).",
  },
  STORAGE_MIGRATE_FROM: {
    section: "Storage",
    unset: "no migration",
    description:
      "The store objects are being moved away from, while the one configured above receives them (local disk to S3 or " +
      "back), in the syntax of `COLD_STORAGE`; e.g. `/var/lib/coffer/data/objects`. Coffer serves from both meanwhile; " +
      "remove it when /admin/jobs says the migration is done (see [storage-tiers.md](storage-tiers.md)).",
  },

  ENCRYPTION_MASTER_KEY: {
    section: "Encryption at rest",
    unset: "no encryption by Coffer",
    description:
      "Base64 of 32 random bytes (`openssl rand -base64 32`). Every object written from then on is encrypted with " +
      "AES-256-GCM (either storage driver); objects written before stay readable. Without this key the files cannot be " +
      "read: back it up apart from the data.",
  },
  ENCRYPTION_PREVIOUS_MASTER_KEYS: {
    section: "Encryption at rest",
    description:
      "Earlier master keys, comma-separated, kept while `npm run keys:rotate` re-wraps to the current one; remove them " + "afterwards.",
  },

  BACKUP_DIR: {
    section: "Backups",
    unset: "no backups (unless `BACKUP_S3_BUCKET` is set)",
    description: "A directory backups are written to, outside `DATA_DIR` (best on another disk or a mounted remote file system).",
  },
  BACKUP_S3_BUCKET: {
    section: "Backups",
    unset: "no backups to S3",
    description:
      "An S3 bucket backups are written to, on `BACKUP_S3_ENDPOINT` or else on `S3_ENDPOINT`. Use a bucket of its own, ideally in " +
      "another region or with another provider.",
  },
  BACKUP_S3_ENDPOINT: {
    section: "Backups",
    unset: "`S3_ENDPOINT`",
    description: "The S3 endpoint of `BACKUP_S3_BUCKET`, when it is not the one the files live on.",
  },
  BACKUP_S3_ACCESS_KEY: {
    section: "Backups",
    unset: "`S3_ACCESS_KEY` when the backup bucket is on `S3_ENDPOINT`",
    description: "Access key of the backup bucket; give it only the rights that bucket needs.",
  },
  BACKUP_S3_SECRET_KEY: {
    section: "Backups",
    unset: "`S3_SECRET_KEY` when the backup bucket is on `S3_ENDPOINT`",
    description: "Secret key of the backup bucket.",
  },
  BACKUP_S3_REGION: {
    section: "Backups",
    unset: "`S3_REGION`, or `us-east-1` on an endpoint of its own",
    description: "Region of the backup bucket.",
  },
  BACKUP_KEY: {
    section: "Backups",
    unset: "required when a backup target is set",
    description:
      "Base64 of 32 random bytes (`openssl rand -base64 32`) that encrypts every backup. Keep a copy away from the server and " +
      "the backups: without it no backup can be restored.",
  },
  BACKUP_KEY_FILE: {
    section: "Backups",
    unset: "`BACKUP_KEY`",
    description: "A file holding `BACKUP_KEY` instead (for example a container secret).",
  },
  BACKUP_SCHEDULE: {
    section: "Backups",
    default: "15 2 * * *",
    description: "When backups run: five cron fields, UTC.",
  },
  BACKUP_VERIFY_SCHEDULE: {
    section: "Backups",
    default: "45 4 * * 0",
    description: "When the latest backup is restored into a scratch instance and checked (cron, UTC), or `off`.",
  },
  BACKUP_KEEP_DAILY: { section: "Backups", default: "7", description: "How many daily backups retention keeps." },
  BACKUP_KEEP_WEEKLY: { section: "Backups", default: "4", description: "How many weekly backups (the last of each week) retention keeps." },
  BACKUP_KEEP_MONTHLY: {
    section: "Backups",
    default: "6",
    description: "How many monthly backups (the last of each month) retention keeps.",
  },
  BACKUP_WAL_ARCHIVE: {
    section: "Backups",
    default: "true",
    description:
      "With the embedded PostgreSQL and a backup target, archive its write-ahead log into the target for point-in-time " +
      "recovery (`coffer restore --to`). An external PostgreSQL archives its own WAL; see [backups.md](backups.md).",
  },

  MEILI_HOST: {
    section: "Search",
    unset: "PostgreSQL full-text search",
    description: "`http://` or `https://` URL of a Meilisearch server.",
  },
  MEILI_API_KEY: { section: "Search", description: "Meilisearch API key." },
  MEILI_INDEX: { section: "Search", default: "coffer-files", description: "Meilisearch index name (letters, digits, `-`, `_`)." },
  SEARCH_CONTENT: {
    section: "Search",
    default: "true",
    description:
      "Search inside files too: their text is extracted in the background and copied into the search index (the " +
      "`file_contents` table, or Meilisearch). Set `false` where file text must not be copied there, e.g. with encryption " +
      "at rest: no more text is extracted, and the hourly maintenance job (first run a minute after start-up) removes all " +
      "text already stored.",
  },
  SEARCH_CONTENT_MAX_BYTES: {
    section: "Search",
    default: "10MiB",
    description:
      "Most bytes of one file read for its text (for Word/Excel/PowerPoint/OpenDocument files: of their decompressed text " +
      "parts). The rest of a larger file is not searched.",
  },
  SEARCH_CONTENT_MAX_TEXT: { section: "Search", default: "1MiB", description: "Most text (UTF-8) kept per file; at most `1MiB`." },

  REDIS_URL: {
    section: "Cache",
    unset: "in-process memory (one instance only)",
    description:
      "`redis://` or `rediss://` URL. Cache, rate limits, locks, tus upload metadata and the Socket.IO adapter shared by " +
      "several instances.",
  },
  REDIS_PREFIX: {
    section: "Cache",
    default: "coffer:",
    description:
      "Start of every Redis key and pub/sub channel (and the Socket.IO adapter's key). Instances of one deployment use the " +
      "same one; deployments sharing a Redis each need their own. 1–64 of `A–Z a–z 0–9 : _ -`, ending with `:`.",
  },

  SMTP_URL: {
    section: "Mail",
    unset: "password reset by email is off",
    description:
      "`smtp://user:pass@host:587` (STARTTLS when the server offers it) or `smtps://user:pass@host:465`. Requires " +
      "`APP_URL`, which the links in mails use (never the request's `Host`). Unset, Coffer logs a warning at start-up and " +
      "`/forgot-password` tells people to ask an administrator.",
  },
  MAIL_FROM: {
    section: "Mail",
    unset: "`Coffer <noreply@host>`, the host of `APP_URL`",
    description: "Sender of Coffer's mails, e.g. `Coffer <files@example.com>`.",
  },
  MAIL_LOCALE: {
    section: "Mail",
    default: "en",
    description:
      "Language of dates in notification emails (a BCP 47 tag such as `de-DE`) for people who chose none in `/settings/notifications` and whose browser sent no language Coffer knows when they last signed in (docs/events.md#preferences).",
  },

  MAX_UPLOAD_SIZE: { section: "Uploads", default: "10GiB", description: "Largest accepted file." },
  UPLOAD_EXPIRY_HOURS: {
    section: "Uploads",
    default: "24",
    description: "Hours an unfinished upload is kept before cleanup may remove it (positive number).",
  },
  CLAMD_URL: {
    section: "Uploads",
    unset: "no malware scanning",
    description:
      "ClamAV's daemon, `tcp://host:port` or `unix:/path/to/clamd.sock`: every upload is streamed to it while it is stored, " +
      "infected files are quarantined, and no file is served without a clean verdict. See [malware.md](malware.md).",
  },
  CLAMD_UNAVAILABLE: {
    section: "Uploads",
    default: "refuse",
    description:
      "What uploads do while clamd cannot be reached: `refuse` (503, nothing stored) or `accept` (stored as waiting for a " +
      "scan, not downloadable until the rescan job has scanned it).",
  },
  HTTP_IDLE_TIMEOUT_SECONDS: {
    section: "Uploads",
    default: "120",
    description:
      "A connection on which nothing moves for this long is closed (5–86400). Requests have no total time limit, so a slow " +
      "upload is never cut off while bytes flow; a stalled one keeps what arrived and resumes. Reverse proxies need " +
      "read/send timeouts at least this long.",
  },

  OIDC_ISSUER: {
    section: "Single sign-on",
    unset: "no single sign-on",
    description:
      "Issuer URL of an OpenID Connect provider (its discovery document is `<issuer>/.well-known/openid-configuration`). " +
      "`http://` only for a provider on a trusted network. Needs `OIDC_CLIENT_ID` and `OIDC_CLIENT_SECRET`: set all three " +
      "or none. The redirect URI to register at the provider is `<APP_URL>/auth/oidc/callback`.",
  },
  OIDC_CLIENT_ID: { section: "Single sign-on", description: "Client ID registered at the provider." },
  OIDC_CLIENT_SECRET: {
    section: "Single sign-on",
    description: "Client secret (sent with HTTP Basic authentication to the token endpoint).",
  },
  OIDC_SCOPES: {
    section: "Single sign-on",
    default: "openid email profile",
    description: "Space-separated scopes to request; must include `openid`. Coffer needs the `email` and `email_verified` claims.",
  },
  OIDC_BUTTON_LABEL: {
    section: "Single sign-on",
    default: "Sign in with single sign-on",
    description: "Text of the sign-in button on the login page, e.g. `Sign in with Acme` (at most 60 characters).",
  },
  SSO_ONLY: {
    section: "Single sign-on",
    default: "false",
    description:
      "Refuse password login and registration for everyone; people sign in only through the provider. Needs " +
      "`OIDC_ISSUER`. A password login whose second step (`/login/mfa`) was still pending when it was switched on is " +
      "refused there too.",
  },

  RATE_LIMIT_AUTH: {
    section: "Abuse protection",
    default: "20/1m",
    description:
      "Requests per client IP and period for each authentication form: login, the two-step code, registration and " +
      "password reset each count on their own, and so do requests for a passkey sign-in challenge (the login page asks " +
      "for one on each visit, for passkey autofill; signing in with the passkey then counts as a login). Format " +
      "`requests/period`, the period in `s`, `m` or `h` (`20/1m`, `100/15m`).",
  },
  RATE_LIMIT_SHARE: {
    section: "Abuse protection",
    default: "300/1m",
    description: "Requests per client IP to public share pages (`/s/…`).",
  },
  RATE_LIMIT_API: {
    section: "Abuse protection",
    default: "12000/1m",
    description:
      "Requests per client IP to `/api/…`. A tus upload takes at least two requests (create, then one per chunk), so a " +
      "folder of many small files needs room: 12000/1m lets one browser upload about 100 small files a second, more than " +
      "one server stores (`bench:files`).",
  },
  RATE_LIMIT_GENERAL: {
    section: "Abuse protection",
    default: "600/1m",
    description: "Requests per client IP to every other page (static assets are not counted).",
  },
  LOCKOUT_FREE_FAILURES: {
    section: "Abuse protection",
    default: "5",
    description:
      "Failed logins for one email before it is locked; the lock lasts 1 minute, doubles with each further failure up to " +
      "1 hour, and ends at a successful login or when an admin unlocks the account. WebDAV app passwords are locked " +
      "the same way, per account or token and apart from logins ([webdav](webdav.md#signing-in-app-passwords)).",
  },
  OTEL_EXPORTER_OTLP_ENDPOINT: {
    section: "Tracing",
    unset: "no tracing: the OpenTelemetry SDK is not even loaded",
    description:
      "Base URL of an OTLP/HTTP receiver (a collector, Jaeger, Tempo), e.g. `http://otel-collector:4318`; spans go to " +
      "`/v1/traces` under it. Setting it (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) turns tracing on.",
  },
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: {
    section: "Tracing",
    unset: "`OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`",
    description: "Full URL spans are sent to, used as it is.",
  },
  OTEL_EXPORTER_OTLP_PROTOCOL: {
    section: "Tracing",
    default: "http/protobuf",
    description: "`http/protobuf` or `http/json` (gRPC is not supported: use the receiver's HTTP port, usually 4318).",
  },
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: {
    section: "Tracing",
    unset: "`OTEL_EXPORTER_OTLP_PROTOCOL`",
    description: "The protocol for traces alone.",
  },
  OTEL_SERVICE_NAME: {
    section: "Tracing",
    unset: "`service.name` from `OTEL_RESOURCE_ATTRIBUTES`, else `coffer`",
    description: "`service.name` of every span.",
  },
  OTEL_TRACES_SAMPLER: {
    section: "Tracing",
    default: "parentbased_always_on",
    description:
      "Which traces are kept: `always_on`, `always_off`, `traceidratio`, or `parentbased_…` of each (follow the " +
      "sampling decision of a trusted proxy's `traceparent`, else the named rule). For busy instances " +
      "`parentbased_traceidratio` with `OTEL_TRACES_SAMPLER_ARG=0.1` keeps one trace in ten.",
  },
  OTEL_TRACES_SAMPLER_ARG: {
    section: "Tracing",
    unset: "`1` (every trace)",
    description: "The ratio (0–1) kept by the `traceidratio` samplers.",
  },
  OTEL_RESOURCE_ATTRIBUTES: {
    section: "Tracing",
    description: "More resource attributes, `key=value` pairs separated by commas, e.g. `deployment.environment=prod`.",
  },
  OTEL_BSP_SCHEDULE_DELAY: {
    section: "Tracing",
    default: "5000",
    description: "Milliseconds spans wait before they are sent in a batch.",
  },
  OTEL_TRACES_EXPORTER: {
    section: "Tracing",
    default: "otlp",
    description: "`none` turns tracing off while an endpoint stays set.",
  },
  OTEL_SDK_DISABLED: {
    section: "Tracing",
    default: "false",
    description: "`true` turns tracing off while an endpoint stays set.",
  },
};
