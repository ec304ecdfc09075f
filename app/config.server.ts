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
  const entries = value.split(",").map((entry) => entry.trim()).filter(Boolean);
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

const port = z.coerce.number({ message: "must be a port number" }).int().min(0).max(65535);
const optionalString = z.string().trim().min(1).optional();
const url = (schemes: string[]) =>
  z
    .string()
    .trim()
    .refine((v) => {
      try {
        return schemes.includes(new URL(v).protocol.replace(/:$/, ""));
      } catch {
        return false;
      }
    }, `must be a URL starting with ${schemes.map((s) => `${s}://`).join(" or ")}`);

const envSchema = z
  .object({
    NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
    HOST: z.string().default("0.0.0.0"),
    PORT: port.default(3000),
    DATA_DIR: z.string().min(1).default("./data"),
    APP_URL: url(["http", "https"]).optional(),
    SESSION_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
    SESSION_TTL_DAYS: z.coerce.number().int().positive().default(30),
    TRUST_PROXY: trustProxy.default(false),
    TLS_CERT_FILE: optionalString,
    TLS_KEY_FILE: optionalString,
    LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),

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

    MEILI_HOST: url(["http", "https"]).optional(),
    MEILI_API_KEY: optionalString,
    MEILI_INDEX: z.string().regex(/^[A-Za-z0-9_-]+$/, "letters, digits, - and _ only").default("coffer-files"),

    REDIS_URL: url(["redis", "rediss"]).optional(),

    MAX_UPLOAD_SIZE: byteSize.default(10 * 2 ** 30),
    UPLOAD_EXPIRY_HOURS: z.coerce.number().positive().default(24),
  });

/** Rules across variables, checked on the raw values so they are reported with any other problem. */
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
  if (env.TLS_CERT_FILE && env.APP_URL?.startsWith("http://")) {
    problems.push("APP_URL: must start with https:// when Coffer serves TLS itself (TLS_CERT_FILE)");
  }
  const partSize = env.S3_PART_SIZE ? parseByteSize(env.S3_PART_SIZE) : null;
  if (partSize !== null && partSize < 5 * 2 ** 20) problems.push("S3_PART_SIZE: must be at least 5MiB (the S3 minimum part size)");
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
  trustProxy: TrustProxy;
  /** Coffer serves HTTPS itself on PORT from these PEM files. */
  tls?: { certFile: string; keyFile: string };
  /** Browsers reach Coffer over HTTPS: APP_URL is https:// or Coffer serves TLS itself. */
  servedOverHttps: boolean;
  logLevel: Env["LOG_LEVEL"];
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
      };
  search: { driver: "postgres" } | { driver: "meilisearch"; host: string; apiKey?: string; index: string };
  cache: { driver: "memory" } | { driver: "redis"; url: string };
  uploads: { maxSize: number; expiryMs: number };
}

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
  return {
    env: env.NODE_ENV,
    isProduction: env.NODE_ENV === "production",
    host: env.HOST,
    port: env.PORT,
    dataDir,
    appUrl: env.APP_URL,
    sessionSecret: env.SESSION_SECRET,
    sessionTtlMs: env.SESSION_TTL_DAYS * 24 * 3600 * 1000,
    trustProxy: env.TRUST_PROXY,
    tls: env.TLS_CERT_FILE && env.TLS_KEY_FILE ? { certFile: path.resolve(env.TLS_CERT_FILE), keyFile: path.resolve(env.TLS_KEY_FILE) } : undefined,
    servedOverHttps: Boolean(env.TLS_CERT_FILE && env.TLS_KEY_FILE) || Boolean(env.APP_URL?.startsWith("https://")),
    logLevel: env.LOG_LEVEL,
    database: env.DATABASE_URL
      ? { embedded: false, url: env.DATABASE_URL }
      : { embedded: true, dataDir: path.join(dataDir, "postgres"), port: env.EMBEDDED_PG_PORT },
    storage: env.S3_ENDPOINT
      ? {
          driver: "s3",
          endpoint: env.S3_ENDPOINT,
          accessKey: env.S3_ACCESS_KEY!,
          secretKey: env.S3_SECRET_KEY!,
          bucket: env.S3_BUCKET,
          region: env.S3_REGION,
          forcePathStyle: env.S3_FORCE_PATH_STYLE,
          partSize: env.S3_PART_SIZE,
          uploadConcurrency: env.S3_UPLOAD_CONCURRENCY,
        }
      : { driver: "local", directory: path.join(dataDir, "objects") },
    search: env.MEILI_HOST
      ? { driver: "meilisearch", host: env.MEILI_HOST, apiKey: env.MEILI_API_KEY, index: env.MEILI_INDEX }
      : { driver: "postgres" },
    cache: env.REDIS_URL ? { driver: "redis", url: env.REDIS_URL } : { driver: "memory" },
    uploads: { maxSize: env.MAX_UPLOAD_SIZE, expiryMs: env.UPLOAD_EXPIRY_HOURS * 3600 * 1000 },
  };
}
