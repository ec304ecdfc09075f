import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import path from "node:path";
import { z } from "zod";

/**
 * Parses "1048576", "512MiB", "5 GiB", "10GB" into bytes. Binary and decimal units are both
 * accepted because people write either.
 */
export function parseByteSize(input: string): number | null {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$/i.exec(input);
  if (!match) return null;
  const value = Number(match[1]);
  const unit = (match[2] ?? "").toLowerCase().replace(/b$/, "");
  const powers: Record<string, number> = { "": 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12, ki: 2 ** 10, mi: 2 ** 20, gi: 2 ** 30, ti: 2 ** 40 };
  const factor = powers[unit];
  if (factor === undefined) return null;
  return Math.round(value * factor);
}

const byteSize = z.string().transform((value, ctx) => {
  const bytes = parseByteSize(value);
  if (bytes === null || bytes <= 0) {
    ctx.addIssue({ code: "custom", message: `"${value}" is not a size; use bytes or a unit, e.g. 10GiB` });
    return z.NEVER;
  }
  return bytes;
});

const boolean = z
  .enum(["true", "false", "1", "0", "yes", "no"], { message: "use true or false" })
  .transform((v) => v === "true" || v === "1" || v === "yes");

/** "20/1m" → 20 requests per minute. Units: s, m, h. */
export function parseRateLimit(input: string): { limit: number; windowMs: number } | null {
  const match = /^\s*(\d+)\s*\/\s*(\d*)\s*(s|m|h)\s*$/i.exec(input);
  if (!match) return null;
  const limit = Number(match[1]);
  const count = match[2] === "" ? 1 : Number(match[2]);
  const unitMs = { s: 1000, m: 60_000, h: 3_600_000 }[match[3].toLowerCase() as "s" | "m" | "h"];
  if (!Number.isSafeInteger(limit) || limit < 1 || count < 1) return null;
  return { limit, windowMs: count * unitMs };
}

const rateLimitSpec = z.string().transform((value, ctx) => {
  const parsed = parseRateLimit(value);
  if (!parsed) {
    ctx.addIssue({ code: "custom", message: `"${value}" is not a rate; use requests/period, e.g. 20/1m, 300/15m or 1000/1h` });
    return z.NEVER;
  }
  return parsed;
});

const PROXY_NAMES = new Set(["loopback", "linklocal", "uniquelocal"]);

/** An IPv4/IPv6 address, optionally with a /prefix, as Express's "trust proxy" accepts it. */
function isAddressOrCidr(value: string): boolean {
  const [address, prefix, ...rest] = value.split("/");
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  const bits = Number(prefix);
  return /^\d{1,3}$/.test(prefix) && bits <= (family === 4 ? 32 : 128);
}

/**
 * Which proxies may set X-Forwarded-*: false (none), true (any: only safe when nothing but the
 * proxy can reach Coffer), a number of proxy hops, or a list of addresses, CIDRs and the names
 * loopback, linklocal, uniquelocal (Express's "trust proxy" syntax).
 */
export type TrustProxy = boolean | number | string[];

const trustProxy = z.string().transform((raw, ctx): TrustProxy => {
  const value = raw.trim().toLowerCase();
  if (["true", "yes"].includes(value)) return true;
  if (["false", "no", "0"].includes(value)) return false;
  if (/^\d+$/.test(value)) return Number(value);
  const entries = value
    .split(",")
    .map((entry) => entry.trim())
    .filter(Boolean);
  const bad = entries.filter((entry) => !PROXY_NAMES.has(entry) && !isAddressOrCidr(entry));
  if (entries.length === 0 || bad.length > 0) {
    ctx.addIssue({
      code: "custom",
      message: `use false, true, a number of proxy hops, or a comma-separated list of addresses, CIDRs, loopback, linklocal, uniquelocal (not understood: ${bad.join(", ") || raw})`,
    });
    return z.NEVER;
  }
  return entries;
});

/** Networks webhooks may reach despite the SSRF guard (docs/webhooks.md): addresses or CIDRs. */
const networkList = z.string().transform((raw, ctx): string[] => {
  const entries = raw
    .split(",")
    .map((entry) => entry.trim())
    .filter(Boolean);
  const bad = entries.filter((entry) => !isAddressOrCidr(entry));
  if (bad.length > 0) {
    ctx.addIssue({
      code: "custom",
      message: `use a comma-separated list of addresses and CIDRs, e.g. 127.0.0.1/32 (not understood: ${bad.join(", ")})`,
    });
    return z.NEVER;
  }
  return entries;
});

/** Where clamd listens: a TCP host and port, or its local socket. */
export type ClamdAddress =
  | { host: string; port: number; socketPath?: undefined }
  | { socketPath: string; host?: undefined; port?: undefined };

/** clamd's address: `tcp://host:port` or `unix:/path` (also `unix:///path`); null when neither. */
export function parseClamdUrl(value: string): ClamdAddress | null {
  const unix = /^unix:(?:\/\/)?(\/.+)$/.exec(value);
  if (unix) return { socketPath: unix[1] };
  const tcp = /^tcp:\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})\/?$/.exec(value);
  if (!tcp) return null;
  const portNumber = Number(tcp[2]);
  if (portNumber < 1 || portNumber > 65535) return null;
  return { host: tcp[1].replace(/^\[|\]$/g, ""), port: portNumber };
}

const port = z.coerce.number({ message: "must be a port number" }).int().min(0).max(65535);
const optionalString = z.string().trim().min(1).optional();
/** Five cron fields (minute hour day-of-month month day-of-week), UTC, as pg-boss schedules them. */
const cron = z
  .string()
  .trim()
  .regex(/^([0-9*/,-]+)(\s+[0-9A-Za-z*/,-]+){4}$/, "must be five cron fields in UTC, e.g. 15 2 * * * (every day at 02:15)");
const url = (schemes: string[]) =>
  z
    .string()
    .trim()
    .refine(
      (v) => {
        try {
          return schemes.includes(new URL(v).protocol.replace(/:$/, ""));
        } catch {
          return false;
        }
      },
      `must be a URL starting with ${schemes.map((s) => `${s}://`).join(" or ")}`,
    );

const SAMPLERS = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio",
] as const;
export type TraceSampler = (typeof SAMPLERS)[number];

/** OTEL_RESOURCE_ATTRIBUTES: "key=value,key2=value2", values percent-encoded (the OpenTelemetry form). */
export function parseResourceAttributes(input: string): Record<string, string> | null {
  const attributes: Record<string, string> = {};
  for (const pair of input.split(",")) {
    if (pair.trim() === "") continue;
    const equals = pair.indexOf("=");
    if (equals < 1) return null;
    const key = pair.slice(0, equals).trim();
    if (!/^[\x21-\x7e]{1,255}$/.test(key) || key.includes("=")) return null;
    try {
      attributes[key] = decodeURIComponent(pair.slice(equals + 1).trim());
    } catch {
      return null;
    }
  }
  return attributes;
}

const resourceAttributes = z.string().transform((value, ctx) => {
  const attributes = parseResourceAttributes(value);
  if (!attributes) {
    ctx.addIssue({
      code: "custom",
      message: "use key=value pairs separated by commas, values percent-encoded, e.g. deployment.environment=prod",
    });
    return z.NEVER;
  }
  return attributes;
});

/** A master key of encryption at rest; its id is a fingerprint, so keys need no names. */
export interface MasterKey {
  id: string;
  key: Buffer;
}

export function parseMasterKey(base64: string): MasterKey | null {
  if (!/^[A-Za-z0-9+/]{43}=$/.test(base64.trim())) return null;
  const key = Buffer.from(base64.trim(), "base64");
  if (key.length !== 32) return null;
  return { id: createHash("sha256").update("coffer master key id\0").update(key).digest("hex").slice(0, 16), key };
}

const masterKey = z.string().transform((value, ctx) => {
  const key = parseMasterKey(value);
  if (!key) {
    ctx.addIssue({ code: "custom", message: "must be base64 of exactly 32 bytes (e.g. openssl rand -base64 32)" });
    return z.NEVER;
  }
  return key;
});

/**
 * Every variable Coffer reads. Each one is described for people in config-reference.ts, from which
 * `npm run docs:config` writes docs/configuration.md and .env.example.
 */
export const envSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  HOST: z.string().default("0.0.0.0"),
  PORT: port.default(3000),
  DATA_DIR: z.string().min(1).default("./data"),
  APP_URL: url(["http", "https"]).optional(),
  SESSION_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  SESSION_TTL_DAYS: z.coerce.number().int().positive().default(30),
  TRUST_PROXY: trustProxy.default(false),
  WEBHOOK_ALLOW_NETWORKS: networkList.optional(),
  WEBHOOK_DELIVERY_RETENTION_DAYS: z.coerce.number({ message: "must be a number of days" }).int().min(1).max(3650).default(30),
  EVENT_RETENTION_DAYS: z.coerce.number({ message: "must be a number of days" }).int().min(1).max(3650).default(30),
  NOTIFICATION_RETENTION_DAYS: z.coerce.number({ message: "must be a number of days" }).int().min(1).max(3650).default(90),
  TLS_CERT_FILE: optionalString,
  TLS_KEY_FILE: optionalString,
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
  METRICS_TOKEN: z
    .string()
    .trim()
    .min(16, "must be at least 16 characters (e.g. openssl rand -hex 32)")
    .regex(/^[\x21-\x7e]+$/, "printable ASCII without spaces only (it is sent in an Authorization header)")
    .optional(),
  SHUTDOWN_GRACE_SECONDS: z.coerce.number().int().min(0).max(3600).default(30),
  SHUTDOWN_DELAY_SECONDS: z.coerce.number().int().min(0).max(300).default(0),

  DATABASE_URL: url(["postgres", "postgresql"]).optional(),
  EMBEDDED_PG_PORT: port.default(54329),

  S3_ENDPOINT: url(["http", "https"]).optional(),
  S3_ACCESS_KEY: optionalString,
  S3_SECRET_KEY: optionalString,
  S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be a DNS-compliant bucket name (3-63 lowercase letters, digits, dots, hyphens)")
    .default("coffer"),
  S3_REGION: z.string().min(1).default("us-east-1"),
  S3_FORCE_PATH_STYLE: boolean.default(true),
  S3_PART_SIZE: byteSize.default(32 * 2 ** 20),
  S3_UPLOAD_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(8),
  S3_UPLOAD_MEMORY: byteSize.default(256 * 2 ** 20),
  S3_SSE: z.enum(["AES256", "aws:kms"], { message: "use AES256 or aws:kms" }).optional(),
  S3_SSE_KMS_KEY_ID: optionalString,
  STORAGE_DEDUP: boolean.default(false),
  DOWNLOAD_REDIRECT: z.enum(["off", "presigned"], { message: "use off or presigned" }).default("off"),
  DOWNLOAD_REDIRECT_SECONDS: z.coerce.number({ message: "must be seconds" }).int().min(1).max(3600).default(60),
  COLD_STORAGE: optionalString,
  COLD_STORAGE_CLASS: optionalString,
  STORAGE_MIGRATE_FROM: optionalString,

  ENCRYPTION_MASTER_KEY: masterKey.optional(),
  ENCRYPTION_PREVIOUS_MASTER_KEYS: z
    .string()
    .transform((value, ctx) => {
      const keys: MasterKey[] = [];
      for (const part of value
        .split(",")
        .map((p) => p.trim())
        .filter(Boolean)) {
        const key = parseMasterKey(part);
        if (!key) {
          ctx.addIssue({ code: "custom", message: `each entry must be base64 of exactly 32 bytes (e.g. openssl rand -base64 32)` });
          return z.NEVER;
        }
        keys.push(key);
      }
      return keys;
    })
    .optional(),

  BACKUP_DIR: optionalString,
  BACKUP_S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be a DNS-compliant bucket name (3-63 lowercase letters, digits, dots, hyphens)")
    .optional(),
  BACKUP_S3_ENDPOINT: url(["http", "https"]).optional(),
  BACKUP_S3_ACCESS_KEY: optionalString,
  BACKUP_S3_SECRET_KEY: optionalString,
  BACKUP_S3_REGION: optionalString,
  BACKUP_KEY: masterKey.optional(),
  BACKUP_KEY_FILE: optionalString,
  BACKUP_SCHEDULE: cron.default("15 2 * * *"),
  BACKUP_VERIFY_SCHEDULE: cron.or(z.literal("off")).default("45 4 * * 0"),
  BACKUP_KEEP_DAILY: z.coerce.number().int().min(1).max(366).default(7),
  BACKUP_KEEP_WEEKLY: z.coerce.number().int().min(0).max(520).default(4),
  BACKUP_KEEP_MONTHLY: z.coerce.number().int().min(0).max(1200).default(6),
  BACKUP_WAL_ARCHIVE: boolean.default(true),

  MEILI_HOST: url(["http", "https"]).optional(),
  MEILI_API_KEY: optionalString,
  MEILI_INDEX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, "letters, digits, - and _ only")
    .default("coffer-files"),
  SEARCH_CONTENT: boolean.default(true),
  SEARCH_CONTENT_MAX_BYTES: byteSize.default(10 * 2 ** 20),
  // A tsvector holds at most 1 MB, and 1 MiB of text is a few hundred pages.
  SEARCH_CONTENT_MAX_TEXT: byteSize.refine((bytes) => bytes <= 2 ** 20, "at most 1MiB").default(2 ** 20),

  REDIS_URL: url(["redis", "rediss"]).optional(),
  // Must end with ":" so one prefix is never the start of another's keys ("a" + "b:x" = "ab" + ":x").
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_-]{1,64}$/, "1 to 64 letters, digits, ':', '_' or '-'")
    .refine((v) => v.endsWith(":"), 'must end with ":", e.g. coffer-prod:')
    .default("coffer:"),

  MAX_UPLOAD_SIZE: byteSize.default(10 * 2 ** 30),
  UPLOAD_EXPIRY_HOURS: z.coerce.number().positive().default(24),
  HTTP_IDLE_TIMEOUT_SECONDS: z.coerce.number().int().min(5).max(86_400).default(120),
  CLAMD_URL: z
    .string()
    .trim()
    .refine((v) => parseClamdUrl(v) !== null, "must be tcp://host:port or unix:/path/to/clamd.sock")
    .optional(),
  CLAMD_UNAVAILABLE: z.enum(["refuse", "accept"]).default("refuse"),

  OIDC_ISSUER: url(["http", "https"]).optional(),
  OIDC_CLIENT_ID: optionalString,
  OIDC_CLIENT_SECRET: optionalString,
  OIDC_SCOPES: z
    .string()
    .trim()
    .refine((v) => v.split(/\s+/).includes("openid"), 'must include openid, e.g. "openid email profile"')
    .default("openid email profile"),
  OIDC_BUTTON_LABEL: z.string().trim().min(1).max(60, "must be at most 60 characters").default("Sign in with single sign-on"),
  SSO_ONLY: boolean.default(false),
  RATE_LIMIT_AUTH: rateLimitSpec.default({ limit: 20, windowMs: 60_000 }),
  RATE_LIMIT_SHARE: rateLimitSpec.default({ limit: 300, windowMs: 60_000 }),
  RATE_LIMIT_API: rateLimitSpec.default({ limit: 12000, windowMs: 60_000 }),
  RATE_LIMIT_GENERAL: rateLimitSpec.default({ limit: 600, windowMs: 60_000 }),
  LOCKOUT_FREE_FAILURES: z.coerce.number().int().min(1).max(100).default(5),
  SMTP_URL: url(["smtp", "smtps"]).optional(),
  MAIL_FROM: z.string().trim().min(3).max(320).optional(),
  MAIL_LOCALE: z
    .string()
    .trim()
    .max(35)
    .refine((tag) => {
      try {
        return /^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$/.test(tag) && Intl.DateTimeFormat.supportedLocalesOf([tag]).length === 1;
      } catch {
        return false;
      }
    }, "must be a language tag this server knows, e.g. en-GB or de-DE")
    .default("en"),

  // OpenTelemetry's own variables (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/).
  OTEL_SDK_DISABLED: boolean.default(false),
  OTEL_TRACES_EXPORTER: z
    .enum(["otlp", "none"], { message: "use otlp or none (Coffer exports traces over OTLP/HTTP only)" })
    .default("otlp"),
  OTEL_EXPORTER_OTLP_ENDPOINT: url(["http", "https"]).optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: url(["http", "https"]).optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: z
    .enum(["http/protobuf", "http/json"], { message: "use http/protobuf or http/json (gRPC is not supported; use port 4318)" })
    .default("http/protobuf"),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: z
    .enum(["http/protobuf", "http/json"], { message: "use http/protobuf or http/json (gRPC is not supported; use port 4318)" })
    .optional(),
  OTEL_SERVICE_NAME: z.string().trim().min(1).max(255).optional(),
  OTEL_TRACES_SAMPLER: z.enum(SAMPLERS, { message: `use one of ${SAMPLERS.join(", ")}` }).default("parentbased_always_on"),
  OTEL_TRACES_SAMPLER_ARG: z.coerce
    .number({ message: "must be a number between 0 and 1" })
    .min(0, "must be a number between 0 and 1")
    .max(1, "must be a number between 0 and 1")
    .optional(),
  OTEL_RESOURCE_ATTRIBUTES: resourceAttributes.optional(),
  OTEL_BSP_SCHEDULE_DELAY: z.coerce.number({ message: "must be milliseconds" }).int().min(1).max(600_000).default(5000),
});

/** A URL that is an origin and nothing more (a trailing "/" allowed). */
function isBareOrigin(value: string): boolean {
  try {
    const url = new URL(value.trim());
    return url.pathname === "/" && !url.search && !url.hash && !url.username && !url.password;
  } catch {
    return true; // reported by the schema
  }
}

/** Rules across variables, checked on the raw values so they are reported with any other problem. */
/** A backup target needs a key, one target at a time, and S3 credentials from somewhere. */
function backupProblems(env: Record<string, string>): string[] {
  const problems: string[] = [];
  if (env.BACKUP_DIR && env.BACKUP_S3_BUCKET) problems.push("BACKUP_DIR, BACKUP_S3_BUCKET: choose one backup target");
  if (env.BACKUP_KEY && env.BACKUP_KEY_FILE) problems.push("BACKUP_KEY, BACKUP_KEY_FILE: set one of them, not both");
  if (env.BACKUP_KEY_FILE && readBackupKeyFile(env.BACKUP_KEY_FILE) === null) {
    problems.push(
      `BACKUP_KEY_FILE: ${env.BACKUP_KEY_FILE} must be readable and hold base64 of exactly 32 bytes (e.g. openssl rand -base64 32)`,
    );
  }
  const target = env.BACKUP_DIR ? "BACKUP_DIR" : env.BACKUP_S3_BUCKET ? "BACKUP_S3_BUCKET" : undefined;
  if (target && !env.BACKUP_KEY && !env.BACKUP_KEY_FILE) {
    problems.push(
      `BACKUP_KEY: is required when ${target} is set (backups are encrypted; e.g. openssl rand -base64 32, kept apart from the data)`,
    );
  }
  if (env.BACKUP_S3_BUCKET) {
    if (!env.BACKUP_S3_ENDPOINT && !env.S3_ENDPOINT)
      problems.push("BACKUP_S3_ENDPOINT: is required when BACKUP_S3_BUCKET is set and S3_ENDPOINT is not");
    for (const key of ["ACCESS_KEY", "SECRET_KEY"]) {
      if (!env[`BACKUP_S3_${key}`] && !(env.BACKUP_S3_ENDPOINT ? undefined : env[`S3_${key}`])) {
        problems.push(`BACKUP_S3_${key}: is required when BACKUP_S3_BUCKET is set on its own endpoint`);
      }
    }
  }
  if (env.BACKUP_DIR) {
    const dir = path.resolve(env.BACKUP_DIR);
    const data = path.resolve(env.DATA_DIR ?? "./data");
    if (dir === data || dir.startsWith(data + path.sep))
      problems.push("BACKUP_DIR: must be outside DATA_DIR (a restore replaces DATA_DIR)");
  }
  return problems;
}

function readBackupKeyFile(file: string): MasterKey | null {
  try {
    return parseMasterKey(readFileSync(file, "utf8"));
  } catch {
    return null;
  }
}

function backupConfig(env: Env, primary: Config["storage"]): BackupConfig | undefined {
  const key = env.BACKUP_KEY ?? (env.BACKUP_KEY_FILE ? readBackupKeyFile(env.BACKUP_KEY_FILE) : null);
  if (!key) return undefined;
  let target: BackupConfig["target"];
  if (env.BACKUP_DIR) target = { driver: "local", directory: path.resolve(env.BACKUP_DIR) };
  else if (env.BACKUP_S3_BUCKET) {
    const own = Boolean(env.BACKUP_S3_ENDPOINT);
    const s3 = primary.driver === "s3" ? primary : undefined;
    target = {
      driver: "s3",
      endpoint: env.BACKUP_S3_ENDPOINT ?? s3!.endpoint,
      accessKey: env.BACKUP_S3_ACCESS_KEY ?? (own ? "" : s3!.accessKey),
      secretKey: env.BACKUP_S3_SECRET_KEY ?? (own ? "" : s3!.secretKey),
      bucket: env.BACKUP_S3_BUCKET,
      region: env.BACKUP_S3_REGION ?? (own ? "us-east-1" : s3!.region),
      forcePathStyle: env.S3_FORCE_PATH_STYLE,
      partSize: env.S3_PART_SIZE,
      uploadConcurrency: env.S3_UPLOAD_CONCURRENCY,
      uploadMemory: env.S3_UPLOAD_MEMORY,
    };
  } else return undefined;
  return {
    target,
    key: key.key,
    schedule: env.BACKUP_SCHEDULE,
    verifySchedule: env.BACKUP_VERIFY_SCHEDULE === "off" ? null : env.BACKUP_VERIFY_SCHEDULE,
    keep: { daily: env.BACKUP_KEEP_DAILY, weekly: env.BACKUP_KEEP_WEEKLY, monthly: env.BACKUP_KEEP_MONTHLY },
    walArchive: env.BACKUP_WAL_ARCHIVE,
  };
}

function crossFieldProblems(env: Record<string, string>): string[] {
  const problems: string[] = [];
  if (env.S3_ENDPOINT) {
    for (const key of ["S3_ACCESS_KEY", "S3_SECRET_KEY"]) {
      if (!env[key]) problems.push(`${key}: is required when S3_ENDPOINT is set`);
    }
  }
  if (Boolean(env.TLS_CERT_FILE) !== Boolean(env.TLS_KEY_FILE)) {
    problems.push("TLS_CERT_FILE, TLS_KEY_FILE: set both (certificate chain and private key, PEM) to serve HTTPS, or neither");
  }
  if (env.APP_URL && !isBareOrigin(env.APP_URL)) {
    problems.push(
      "APP_URL: must be the address alone, e.g. https://files.example.com (Coffer is served from the root path; no path, query or user name)",
    );
  }
  if (env.TLS_CERT_FILE && env.APP_URL?.startsWith("http://")) {
    problems.push("APP_URL: must start with https:// when Coffer serves TLS itself (TLS_CERT_FILE)");
  }
  problems.push(...backupProblems(env));
  const partSize = env.S3_PART_SIZE ? parseByteSize(env.S3_PART_SIZE) : null;
  if (partSize !== null && partSize < 5 * 2 ** 20) problems.push("S3_PART_SIZE: must be at least 5MiB (the S3 minimum part size)");
  // Single sign-on is all or nothing: a half-configured provider would only fail at the first login.
  const oidcKeys = ["OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET"];
  const setOidcKey = oidcKeys.find((key) => env[key]);
  if (setOidcKey) {
    for (const key of oidcKeys) {
      if (!env[key])
        problems.push(
          `${key}: is required when ${setOidcKey} is set (single sign-on needs OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET)`,
        );
    }
  }
  if (/^(true|1|yes)$/.test(env.SSO_ONLY ?? "") && !env.OIDC_ISSUER) {
    problems.push("SSO_ONLY: needs single sign-on configured (OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET)");
  }
  // Links in mails must not be built from the request's Host header, which a client chooses.
  if (env.SMTP_URL && !env.APP_URL) problems.push("APP_URL: is required when SMTP_URL is set (links in mails point to it)");
  if ((env.S3_SSE || env.S3_SSE_KMS_KEY_ID) && !env.S3_ENDPOINT)
    problems.push("S3_SSE: applies only to S3 storage; set S3_ENDPOINT or unset it");
  if (env.S3_SSE_KMS_KEY_ID && env.S3_SSE !== "aws:kms") problems.push("S3_SSE_KMS_KEY_ID: needs S3_SSE=aws:kms");
  if (env.DOWNLOAD_REDIRECT === "presigned" && !env.S3_ENDPOINT)
    problems.push("DOWNLOAD_REDIRECT: presigned needs S3 storage (S3_ENDPOINT); local disk has no URL to redirect to");
  if (env.DOWNLOAD_REDIRECT === "presigned" && env.ENCRYPTION_MASTER_KEY)
    problems.push(
      "DOWNLOAD_REDIRECT: presigned cannot be used with ENCRYPTION_MASTER_KEY: the store holds ciphertext that only Coffer can decrypt",
    );
  problems.push(...storageLocationProblems(env));
  problems.push(...coldStorageClassProblems(env));
  if (env.OTEL_TRACES_SAMPLER_ARG && !/traceidratio$/.test(env.OTEL_TRACES_SAMPLER ?? "")) {
    problems.push("OTEL_TRACES_SAMPLER_ARG: applies only to OTEL_TRACES_SAMPLER=traceidratio or parentbased_traceidratio");
  }
  if (env.ENCRYPTION_PREVIOUS_MASTER_KEYS && !env.ENCRYPTION_MASTER_KEY) {
    problems.push("ENCRYPTION_PREVIOUS_MASTER_KEYS: needs ENCRYPTION_MASTER_KEY (the current key) to be set");
  }
  return problems;
}

export type Env = z.output<typeof envSchema>;

export interface Config {
  env: Env["NODE_ENV"];
  isProduction: boolean;
  host: string;
  port: number;
  dataDir: string;
  appUrl?: string;
  sessionSecret?: string;
  sessionTtlMs: number;
  /** A connection on which nothing moves for this long is closed (uploads keep what arrived). */
  httpIdleTimeoutMs: number;
  trustProxy: TrustProxy;
  /** Private networks webhooks may reach anyway (addresses or CIDRs; empty: none). */
  webhookAllowNetworks: string[];
  /** Webhook deliveries older than this many days are deleted (the delivery log's reach). */
  webhookDeliveryRetentionDays: number;
  /** Dispatched outbox events older than this many days, that nothing points at, are deleted. */
  eventRetentionDays: number;
  /** Days a notification (in-app, and the record of its email) is kept (docs/events.md). */
  notificationRetentionDays: number;
  /** Coffer serves HTTPS itself on PORT from these PEM files. */
  tls?: { certFile: string; keyFile: string };
  /** Browsers reach Coffer over HTTPS: APP_URL is https:// or Coffer serves TLS itself. */
  servedOverHttps: boolean;
  logLevel: Env["LOG_LEVEL"];
  /** Bearer token of GET /metrics; unset, the endpoint does not exist (404). */
  metricsToken?: string;
  /** After SIGTERM, how long requests in flight may take to finish before they are cut. */
  shutdownGraceMs: number;
  /** After SIGTERM, how long to keep serving as usual (with /readyz 503) before the drain begins. */
  shutdownDelayMs: number;
  database: { url: string; embedded: false } | { embedded: true; dataDir: string; port: number };
  storage:
    | { driver: "local"; directory: string }
    | {
        driver: "s3";
        endpoint: string;
        accessKey: string;
        secretKey: string;
        bucket: string;
        region: string;
        forcePathStyle: boolean;
        partSize: number;
        uploadConcurrency: number;
        /** Memory for streaming upload parts, across all uploads (each streaming upload holds one part). */
        uploadMemory: number;
        /** Server-side encryption asked of the S3 store (headers on every put). */
        sse?: { type: "AES256" | "aws:kms"; kmsKeyId?: string };
      };
  /** Files with the same contents (SHA-256) share one object; copies share their source's. */
  storageDedup: boolean;
  /** DOWNLOAD_REDIRECT=presigned: downloads answer with a 302 to a presigned S3 GET URL valid this long. */
  downloadRedirect?: { expiresSeconds: number };
  /** Stores beside the primary one: the cold tier (COLD_STORAGE), the store being migrated from (STORAGE_MIGRATE_FROM). */
  storageTiers: { cold?: StorageLocation; migrateFrom?: StorageLocation; coldStorageClass?: string };
  /** Encryption at rest, when ENCRYPTION_MASTER_KEY is set: the current master key first. */
  encryption?: { masterKeys: MasterKey[] };
  /** Backups, when a target (BACKUP_DIR or BACKUP_S3_BUCKET) and a key are set. */
  backup?: BackupConfig;
  search: { driver: "postgres" } | { driver: "meilisearch"; host: string; apiKey?: string; index: string };
  /** Search inside files: how much of each object is read and how much text is kept. */
  contentSearch: { enabled: boolean; maxBytes: number; maxTextBytes: number };
  cache: { driver: "memory" } | { driver: "redis"; url: string; prefix: string };
  uploads: { maxSize: number; expiryMs: number };
  /**
   * Malware scanning of every upload by clamd (CLAMD_URL); absent: off. `whenUnavailable`: with
   * clamd down, refuse uploads (503) or accept them as pending for the rescan job.
   */
  malwareScan?: { address: ClamdAddress; whenUnavailable: "refuse" | "accept" };
  /** Requests per client IP and window, per class of route. */
  rateLimits: Record<RateLimitClass, { limit: number; windowMs: number }>;
  /** Failed logins per account before the first lockout. */
  lockoutFreeFailures: number;
  /** OpenID Connect single sign-on; absent when not configured. */
  oidc?: OidcConfig;
  /** Outgoing mail (password reset links); null when SMTP_URL is unset. */
  mail: { smtpUrl: string; from: string; appUrl: string; locale: string } | null;
  /** OpenTelemetry tracing; absent (off) unless an OTLP endpoint is set. */
  tracing?: TracingConfig;
}

export interface BackupConfig {
  /** Where backups go: a directory, or a bucket that may sit on another S3 endpoint than the data. */
  target: { driver: "local"; directory: string } | Extract<Config["storage"], { driver: "s3" }>;
  /** 32 bytes; seals everything written to the target. */
  key: Buffer;
  /** Cron (UTC) of the scheduled backup. */
  schedule: string;
  /** Cron (UTC) of the scheduled restore test; null when off. */
  verifySchedule: string | null;
  /** How many daily, weekly and monthly backups retention keeps. */
  keep: { daily: number; weekly: number; monthly: number };
  /** Archive the embedded PostgreSQL's WAL into the target (point-in-time recovery). */
  walArchive: boolean;
}

export interface TracingConfig {
  /** Where spans are sent (OTLP over HTTP). */
  endpoint: string;
  protocol: "http/protobuf" | "http/json";
  serviceName: string;
  sampler: TraceSampler;
  /** The ratio of traces kept by the traceidratio samplers. */
  samplerRatio: number;
  resourceAttributes: Record<string, string>;
  /** How long spans wait to be sent in a batch. */
  batchDelayMs: number;
}

export interface OidcConfig {
  issuer: string;
  clientId: string;
  clientSecret: string;
  scopes: string;
  buttonLabel: string;
  /** Password login and registration are refused; accounts come only from the provider. */
  ssoOnly: boolean;
}

export type RateLimitClass = "auth" | "share" | "api" | "general";

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** Reads and validates the environment. Call once at start-up and pass the result around. */
export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  // Empty strings in .env files mean "not set".
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== "")) as Record<string, string>;
  const parsed = envSchema.safeParse(cleaned);
  const problems = [
    ...(parsed.success ? [] : parsed.error.issues.map((issue) => `${issue.path.join(".") || "environment"}: ${issue.message}`)),
    ...crossFieldProblems(cleaned),
  ];
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
  const env = parsed.data;
  const dataDir = path.resolve(env.DATA_DIR);
  const config: Config = {
    env: env.NODE_ENV,
    isProduction: env.NODE_ENV === "production",
    host: env.HOST,
    port: env.PORT,
    dataDir,
    appUrl: env.APP_URL,
    sessionSecret: env.SESSION_SECRET,
    sessionTtlMs: env.SESSION_TTL_DAYS * 24 * 3600 * 1000,
    httpIdleTimeoutMs: env.HTTP_IDLE_TIMEOUT_SECONDS * 1000,
    trustProxy: env.TRUST_PROXY,
    webhookAllowNetworks: env.WEBHOOK_ALLOW_NETWORKS ?? [],
    webhookDeliveryRetentionDays: env.WEBHOOK_DELIVERY_RETENTION_DAYS,
    eventRetentionDays: env.EVENT_RETENTION_DAYS,
    notificationRetentionDays: env.NOTIFICATION_RETENTION_DAYS,
    tls:
      env.TLS_CERT_FILE && env.TLS_KEY_FILE
        ? { certFile: path.resolve(env.TLS_CERT_FILE), keyFile: path.resolve(env.TLS_KEY_FILE) }
        : undefined,
    servedOverHttps: Boolean(env.TLS_CERT_FILE && env.TLS_KEY_FILE) || Boolean(env.APP_URL?.startsWith("https://")),
    logLevel: env.LOG_LEVEL,
    metricsToken: env.METRICS_TOKEN,
    shutdownGraceMs: env.SHUTDOWN_GRACE_SECONDS * 1000,
    shutdownDelayMs: env.SHUTDOWN_DELAY_SECONDS * 1000,
    database: env.DATABASE_URL
      ? { embedded: false, url: env.DATABASE_URL }
      : { embedded: true, dataDir: path.join(dataDir, "postgres"), port: env.EMBEDDED_PG_PORT },
    storage: primaryStorage(env, dataDir),
    storageTiers: {
      ...(env.COLD_STORAGE ? { cold: parseStorageLocation(env.COLD_STORAGE, env) as StorageLocation } : {}),
      ...(env.STORAGE_MIGRATE_FROM ? { migrateFrom: parseStorageLocation(env.STORAGE_MIGRATE_FROM, env) as StorageLocation } : {}),
      ...(env.COLD_STORAGE_CLASS ? { coldStorageClass: env.COLD_STORAGE_CLASS } : {}),
    },
    search: env.MEILI_HOST
      ? { driver: "meilisearch", host: env.MEILI_HOST, apiKey: env.MEILI_API_KEY, index: env.MEILI_INDEX }
      : { driver: "postgres" },
    contentSearch: { enabled: env.SEARCH_CONTENT, maxBytes: env.SEARCH_CONTENT_MAX_BYTES, maxTextBytes: env.SEARCH_CONTENT_MAX_TEXT },
    cache: env.REDIS_URL ? { driver: "redis", url: env.REDIS_URL, prefix: env.REDIS_PREFIX } : { driver: "memory" },
    uploads: { maxSize: env.MAX_UPLOAD_SIZE, expiryMs: env.UPLOAD_EXPIRY_HOURS * 3600 * 1000 },
    ...(env.CLAMD_URL ? { malwareScan: { address: parseClamdUrl(env.CLAMD_URL)!, whenUnavailable: env.CLAMD_UNAVAILABLE } } : {}),
    oidc: env.OIDC_ISSUER
      ? {
          issuer: env.OIDC_ISSUER,
          clientId: env.OIDC_CLIENT_ID!,
          clientSecret: env.OIDC_CLIENT_SECRET!,
          scopes: env.OIDC_SCOPES.split(/\s+/).join(" "),
          buttonLabel: env.OIDC_BUTTON_LABEL,
          ssoOnly: env.SSO_ONLY,
        }
      : undefined,
    rateLimits: { auth: env.RATE_LIMIT_AUTH, share: env.RATE_LIMIT_SHARE, api: env.RATE_LIMIT_API, general: env.RATE_LIMIT_GENERAL },
    lockoutFreeFailures: env.LOCKOUT_FREE_FAILURES,
    mail:
      env.SMTP_URL && env.APP_URL
        ? {
            smtpUrl: env.SMTP_URL,
            from: env.MAIL_FROM ?? `Coffer <noreply@${new URL(env.APP_URL).hostname}>`,
            appUrl: env.APP_URL,
            locale: env.MAIL_LOCALE,
          }
        : null,
    tracing: tracingConfig(env),
    storageDedup: env.STORAGE_DEDUP,
    ...(env.DOWNLOAD_REDIRECT === "presigned" ? { downloadRedirect: { expiresSeconds: env.DOWNLOAD_REDIRECT_SECONDS } } : {}),
    ...(env.ENCRYPTION_MASTER_KEY
      ? { encryption: { masterKeys: uniqueKeys([env.ENCRYPTION_MASTER_KEY, ...(env.ENCRYPTION_PREVIOUS_MASTER_KEYS ?? [])]) } }
      : {}),
  };
  const backup = backupConfig(env, config.storage);
  return backup ? { ...config, backup } : config;
}

/**
 * Tracing is on when an OTLP endpoint is set, unless OTEL_SDK_DISABLED or OTEL_TRACES_EXPORTER=none.
 * The traces endpoint is used as it is; the general one gets /v1/traces appended (the OTLP rule).
 */
function tracingConfig(env: Env): TracingConfig | undefined {
  if (env.OTEL_SDK_DISABLED || env.OTEL_TRACES_EXPORTER === "none") return undefined;
  const endpoint =
    env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
    (env.OTEL_EXPORTER_OTLP_ENDPOINT ? `${env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, "")}/v1/traces` : undefined);
  if (!endpoint) return undefined;
  return {
    endpoint,
    protocol: env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL,
    serviceName: env.OTEL_SERVICE_NAME ?? env.OTEL_RESOURCE_ATTRIBUTES?.["service.name"] ?? "coffer",
    sampler: env.OTEL_TRACES_SAMPLER,
    samplerRatio: env.OTEL_TRACES_SAMPLER_ARG ?? 1,
    resourceAttributes: env.OTEL_RESOURCE_ATTRIBUTES ?? {},
    batchDelayMs: env.OTEL_BSP_SCHEDULE_DELAY,
  };
}

function uniqueKeys(keys: MasterKey[]): MasterKey[] {
  return keys.filter((key, index) => keys.findIndex((k) => k.id === key.id) === index);
}

/** Where objects are kept: a directory, or a bucket of an S3-compatible server. */
export type StorageLocation = Config["storage"];

function primaryStorage(env: Env, dataDir: string): StorageLocation {
  if (!env.S3_ENDPOINT) return { driver: "local", directory: path.join(dataDir, "objects") };
  return {
    driver: "s3",
    endpoint: env.S3_ENDPOINT,
    accessKey: env.S3_ACCESS_KEY!,
    secretKey: env.S3_SECRET_KEY!,
    bucket: env.S3_BUCKET,
    region: env.S3_REGION,
    forcePathStyle: env.S3_FORCE_PATH_STYLE,
    partSize: env.S3_PART_SIZE,
    uploadConcurrency: env.S3_UPLOAD_CONCURRENCY,
    uploadMemory: env.S3_UPLOAD_MEMORY,
    ...(env.S3_SSE ? { sse: { type: env.S3_SSE, ...(env.S3_SSE_KMS_KEY_ID ? { kmsKeyId: env.S3_SSE_KMS_KEY_ID } : {}) } } : {}),
  };
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * COLD_STORAGE and STORAGE_MIGRATE_FROM: an absolute directory; `s3://bucket`, a bucket on
 * S3_ENDPOINT with its keys; or `s3+https://KEY:SECRET@host[:port]/bucket` (`s3+http://` too),
 * a bucket on another server (`?region=` optional). A string naming the problem when it is none of these.
 */
export function parseStorageLocation(value: string, env: Record<string, unknown>): StorageLocation | string {
  const s3Defaults = {
    region: String(env.S3_REGION ?? "us-east-1"),
    forcePathStyle: env.S3_FORCE_PATH_STYLE === undefined ? true : /^(true|1|yes)$/.test(String(env.S3_FORCE_PATH_STYLE)),
    partSize: 32 * 2 ** 20,
    uploadConcurrency: 8,
    uploadMemory: 256 * 2 ** 20,
  };
  if (value.startsWith("/")) return { driver: "local", directory: path.resolve(value) };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "use an absolute directory, s3://bucket or s3+https://KEY:SECRET@host/bucket";
  }
  if (url.protocol === "s3:") {
    const bucket = url.hostname;
    if (!env.S3_ENDPOINT) return "s3://bucket names a bucket on S3_ENDPOINT, which is not set; use s3+https://KEY:SECRET@host/bucket";
    if (!BUCKET_NAME.test(bucket) || (url.pathname !== "" && url.pathname !== "/")) return `"${bucket}" is not a bucket name`;
    return {
      driver: "s3",
      endpoint: String(env.S3_ENDPOINT),
      accessKey: String(env.S3_ACCESS_KEY ?? ""),
      secretKey: String(env.S3_SECRET_KEY ?? ""),
      bucket,
      ...s3Defaults,
    };
  }
  if (url.protocol === "s3+http:" || url.protocol === "s3+https:") {
    const bucket = url.pathname.replace(/^\/|\/$/g, "");
    if (!url.username || !url.password) return "give the access key and secret key: s3+https://KEY:SECRET@host/bucket";
    if (!BUCKET_NAME.test(bucket)) return `"${bucket}" is not a bucket name`;
    return {
      driver: "s3",
      endpoint: `${url.protocol.slice(3)}//${url.host}`,
      accessKey: decodeURIComponent(url.username),
      secretKey: decodeURIComponent(url.password),
      bucket,
      ...s3Defaults,
      region: url.searchParams.get("region") ?? s3Defaults.region,
    };
  }
  return "use an absolute directory, s3://bucket or s3+https://KEY:SECRET@host/bucket";
}

/** Where a location's objects are, for telling two locations apart. */
function locationId(location: StorageLocation): string {
  return location.driver === "local" ? `dir:${location.directory}` : `s3:${new URL(location.endpoint).host}/${location.bucket}`;
}

/** Classes whose objects must be restored by a request (hours) before they can be read. */
const ASYNC_RESTORE_CLASSES = new Set(["GLACIER", "DEEP_ARCHIVE"]);

/** COLD_STORAGE_CLASS: a storage class of the S3 primary store that objects can be read from at once. */
function coldStorageClassProblems(env: Record<string, string>): string[] {
  const value = env.COLD_STORAGE_CLASS;
  if (!value) return [];
  const instant = "STANDARD_IA, ONEZONE_IA, GLACIER_IR or INTELLIGENT_TIERING";
  if (!/^[A-Z][A-Z0-9_]{0,63}$/.test(value))
    return [`COLD_STORAGE_CLASS: "${value}" is not a storage class name; use one the S3 server offers, e.g. ${instant}`];
  if (ASYNC_RESTORE_CLASSES.has(value))
    return [
      `COLD_STORAGE_CLASS: ${value} objects cannot be read until a restore request has run (hours), which Coffer does not make; use a class read at once, e.g. ${instant}`,
    ];
  if (value === "STANDARD") return [`COLD_STORAGE_CLASS: STANDARD is where objects are written; name a colder class, e.g. ${instant}`];
  if (!env.S3_ENDPOINT) return ["COLD_STORAGE_CLASS: is a class of the S3 storage (S3_ENDPOINT); on local disk use COLD_STORAGE"];
  if (env.COLD_STORAGE) return ["COLD_STORAGE, COLD_STORAGE_CLASS: choose one cold tier"];
  return [];
}

function storageLocationProblems(env: Record<string, string>): string[] {
  const problems: string[] = [];
  const dataDir = path.resolve(env.DATA_DIR ?? "./data");
  const primary = env.S3_ENDPOINT
    ? locationId({ ...(parseStorageLocation(`s3://${env.S3_BUCKET ?? "coffer"}`, env) as StorageLocation) })
    : `dir:${path.join(dataDir, "objects")}`;
  const seen = new Map<string, string>([[primary, "the primary storage"]]);
  for (const name of ["STORAGE_MIGRATE_FROM", "COLD_STORAGE"]) {
    if (!env[name]) continue;
    const location = parseStorageLocation(env[name], env);
    if (typeof location === "string") {
      problems.push(`${name}: ${location}`);
      continue;
    }
    const id = locationId(location);
    const clash = seen.get(id);
    if (clash) problems.push(`${name}: is the same place as ${clash}; it must be another directory or bucket`);
    seen.set(id, name);
  }
  return problems;
}
