import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, parseByteSize } from "~/config.server";

describe("configuration", () => {
  it("defaults to the embedded drivers, port 3000 and ./data", () => {
    const config = loadConfig({});
    expect(config.port).toBe(3000);
    expect(config.dataDir).toBe(path.resolve("./data"));
    expect(config.database).toEqual({ embedded: true, dataDir: path.resolve("./data/postgres"), port: 54329 });
    expect(config.storage).toEqual({ driver: "local", directory: path.resolve("./data/objects") });
    expect(config.search).toEqual({ driver: "postgres" });
    expect(config.cache).toEqual({ driver: "memory" });
    expect(config.uploads.maxSize).toBe(10 * 2 ** 30);
  });

  it("selects the production drivers from their variables", () => {
    const config = loadConfig({
      DATABASE_URL: "postgres://u:p@db:5432/coffer",
      S3_ENDPOINT: "http://minio:9000",
      S3_ACCESS_KEY: "a",
      S3_SECRET_KEY: "b",
      MEILI_HOST: "http://meili:7700",
      REDIS_URL: "redis://redis:6379",
      S3_PART_SIZE: "64MiB",
    });
    expect(config.database).toEqual({ embedded: false, url: "postgres://u:p@db:5432/coffer" });
    expect(config.storage).toMatchObject({
      driver: "s3",
      endpoint: "http://minio:9000",
      bucket: "coffer",
      partSize: 64 * 2 ** 20,
      forcePathStyle: true,
    });
    expect(config.search).toMatchObject({ driver: "meilisearch", host: "http://meili:7700" });
    expect(config.cache).toEqual({ driver: "redis", url: "redis://redis:6379", prefix: "coffer:" });
  });

  it("searches file contents by default, within SEARCH_CONTENT_MAX_BYTES read and SEARCH_CONTENT_MAX_TEXT kept", () => {
    expect(loadConfig({}).contentSearch).toEqual({ enabled: true, maxBytes: 10 * 2 ** 20, maxTextBytes: 2 ** 20 });
    expect(
      loadConfig({ SEARCH_CONTENT: "false", SEARCH_CONTENT_MAX_BYTES: "2MiB", SEARCH_CONTENT_MAX_TEXT: "256KiB" }).contentSearch,
    ).toEqual({
      enabled: false,
      maxBytes: 2 * 2 ** 20,
      maxTextBytes: 256 * 2 ** 10,
    });
    expect(() => loadConfig({ SEARCH_CONTENT_MAX_TEXT: "2MiB" })).toThrow(/SEARCH_CONTENT_MAX_TEXT: at most 1MiB/);
    expect(() => loadConfig({ SEARCH_CONTENT_MAX_BYTES: "lots" })).toThrow(/SEARCH_CONTENT_MAX_BYTES/);
    expect(() => loadConfig({ SEARCH_CONTENT: "maybe" })).toThrow(/SEARCH_CONTENT: use true or false/);
  });

  it("takes a Redis key prefix per deployment, which must end with a colon", () => {
    expect(loadConfig({ REDIS_URL: "redis://redis:6379", REDIS_PREFIX: "coffer-prod_2:eu:" }).cache).toEqual({
      driver: "redis",
      url: "redis://redis:6379",
      prefix: "coffer-prod_2:eu:",
    });
    expect(loadConfig({ REDIS_URL: "redis://redis:6379", REDIS_PREFIX: "" }).cache).toMatchObject({ prefix: "coffer:" });
    for (const bad of ["coffer", "has space:", "star*:", `${"a".repeat(64)}:`]) {
      expect(() => loadConfig({ REDIS_PREFIX: bad }), bad).toThrow(/REDIS_PREFIX/);
    }
  });

  it("treats empty values as unset", () => {
    expect(loadConfig({ DATABASE_URL: "", REDIS_URL: "" }).cache).toEqual({ driver: "memory" });
  });

  it.each([
    [{ PORT: "http" }, "PORT"],
    [{ PORT: "70000" }, "PORT"],
    [{ DATABASE_URL: "mysql://x" }, "DATABASE_URL: must be a URL starting with postgres:// or postgresql://"],
    [{ S3_ENDPOINT: "http://minio:9000" }, "S3_ACCESS_KEY: is required when S3_ENDPOINT is set"],
    [{ MAX_UPLOAD_SIZE: "lots" }, 'MAX_UPLOAD_SIZE: "lots" is not a size'],
    [{ S3_PART_SIZE: "1MiB" }, "S3_PART_SIZE: must be at least 5MiB"],
    [{ SESSION_SECRET: "short" }, "SESSION_SECRET: must be at least 32 characters"],
    [{ TRUST_PROXY: "maybe" }, "TRUST_PROXY: use false, true, a number of proxy hops, or a comma-separated list"],
    [{ TRUST_PROXY: "10.0.0.0/33" }, "not understood: 10.0.0.0/33"],
    [{ TRUST_PROXY: "loopback, 300.1.1.1" }, "not understood: 300.1.1.1"],
    [{ TLS_CERT_FILE: "/etc/coffer/cert.pem" }, "TLS_CERT_FILE, TLS_KEY_FILE: set both"],
    [{ TLS_CERT_FILE: "c.pem", TLS_KEY_FILE: "k.pem", APP_URL: "http://files.example.org" }, "APP_URL: must start with https://"],
    [{ S3_BUCKET: "Bad_Bucket" }, "S3_BUCKET"],
    [{ APP_URL: "https://example.com/coffer" }, "APP_URL: must be the address alone"],
    [{ APP_URL: "https://example.com/?x=1" }, "APP_URL: must be the address alone"],
    [{ APP_URL: "https://user@example.com" }, "APP_URL: must be the address alone"],
  ])("refuses %j naming the variable", (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it("reads TRUST_PROXY as Express's trust proxy setting, keeping true and false", () => {
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: "false" }).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: "no" }).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: "0" }).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: "true" }).trustProxy).toBe(true);
    expect(loadConfig({ TRUST_PROXY: "1" }).trustProxy).toBe(1);
    expect(loadConfig({ TRUST_PROXY: "2" }).trustProxy).toBe(2);
    expect(loadConfig({ TRUST_PROXY: "loopback, uniquelocal,10.1.0.0/16,::1,fd00::/8" }).trustProxy).toEqual([
      "loopback",
      "uniquelocal",
      "10.1.0.0/16",
      "::1",
      "fd00::/8",
    ]);
  });

  it("serves HTTPS itself when both TLS files are set; HTTPS also when APP_URL is https", () => {
    const plain = loadConfig({});
    expect([plain.tls, plain.servedOverHttps]).toEqual([undefined, false]);
    const own = loadConfig({ TLS_CERT_FILE: "cert.pem", TLS_KEY_FILE: "key.pem" });
    expect(own.tls).toEqual({ certFile: path.resolve("cert.pem"), keyFile: path.resolve("key.pem") });
    expect(own.servedOverHttps).toBe(true);
    expect(loadConfig({ APP_URL: "https://files.example.org" }).servedOverHttps).toBe(true);
    expect(loadConfig({ APP_URL: "http://files.example.org" }).servedOverHttps).toBe(false);
    // A trailing slash is still the address alone.
    expect(loadConfig({ APP_URL: "https://files.example.org/" }).appUrl).toBe("https://files.example.org/");
  });

  it("parses human byte sizes", () => {
    expect(parseByteSize("1024")).toBe(1024);
    expect(parseByteSize("5MiB")).toBe(5 * 2 ** 20);
    expect(parseByteSize("5 GiB")).toBe(5 * 2 ** 30);
    expect(parseByteSize("10GB")).toBe(10e9);
    expect(parseByteSize("1.5k")).toBe(1500);
    expect(parseByteSize("ten")).toBeNull();
    expect(parseByteSize("5XB")).toBeNull();
  });

  it("reads COLD_STORAGE and STORAGE_MIGRATE_FROM as a directory or a bucket, never the primary store", () => {
    const s3 = { S3_ENDPOINT: "http://s3.example.com:9000", S3_ACCESS_KEY: "key", S3_SECRET_KEY: "secret", S3_BUCKET: "coffer" };
    const config = loadConfig({ ...s3, COLD_STORAGE: "s3://coffer-cold", STORAGE_MIGRATE_FROM: "/srv/coffer/objects" });
    expect(config.storageTiers.migrateFrom).toEqual({ driver: "local", directory: "/srv/coffer/objects" });
    expect(config.storageTiers.cold).toMatchObject({
      driver: "s3",
      endpoint: "http://s3.example.com:9000",
      accessKey: "key",
      secretKey: "secret",
      bucket: "coffer-cold",
    });
    const other = loadConfig({ STORAGE_MIGRATE_FROM: "s3+https://AK%3Ax:S%40K@store.example.net/old-bucket?region=eu-west-1" });
    expect(other.storageTiers.migrateFrom).toMatchObject({
      driver: "s3",
      endpoint: "https://store.example.net",
      accessKey: "AK:x",
      secretKey: "S@K",
      bucket: "old-bucket",
      region: "eu-west-1",
    });
    expect(loadConfig({}).storageTiers).toEqual({});

    expect(() => loadConfig({ COLD_STORAGE: "relative/dir" })).toThrow(/COLD_STORAGE: use an absolute directory/);
    expect(() => loadConfig({ COLD_STORAGE: "s3://cold" })).toThrow(/COLD_STORAGE: s3:\/\/bucket names a bucket on S3_ENDPOINT/);
    expect(() => loadConfig({ STORAGE_MIGRATE_FROM: "s3+https://host.example/b" })).toThrow(/STORAGE_MIGRATE_FROM: give the access key/);
    expect(() => loadConfig({ ...s3, STORAGE_MIGRATE_FROM: "s3://coffer" })).toThrow(
      /STORAGE_MIGRATE_FROM: is the same place as the primary/,
    );
    expect(() => loadConfig({ DATA_DIR: "/srv/d", STORAGE_MIGRATE_FROM: "/srv/d/objects" })).toThrow(/same place as the primary/);
    expect(() => loadConfig({ COLD_STORAGE: "/srv/x", STORAGE_MIGRATE_FROM: "/srv/x" })).toThrow(
      /COLD_STORAGE: is the same place as STORAGE_MIGRATE_FROM/,
    );
  });

  it("reads COLD_STORAGE_CLASS, a class of the S3 storage read at once", () => {
    const s3 = { S3_ENDPOINT: "http://s3.example.com:9000", S3_ACCESS_KEY: "key", S3_SECRET_KEY: "secret" };
    expect(loadConfig({ ...s3, COLD_STORAGE_CLASS: "STANDARD_IA" }).storageTiers).toEqual({ coldStorageClass: "STANDARD_IA" });
    expect(loadConfig({ ...s3, COLD_STORAGE_CLASS: "GLACIER_IR" }).storageTiers.coldStorageClass).toBe("GLACIER_IR");
    for (const archive of ["GLACIER", "DEEP_ARCHIVE"])
      expect(() => loadConfig({ ...s3, COLD_STORAGE_CLASS: archive })).toThrow(
        new RegExp(
          `COLD_STORAGE_CLASS: ${archive} objects cannot be read until a restore request has run \\(hours\\), which Coffer does not make`,
        ),
      );
    expect(() => loadConfig({ ...s3, COLD_STORAGE_CLASS: "standard_ia" })).toThrow(
      /COLD_STORAGE_CLASS: "standard_ia" is not a storage class name/,
    );
    expect(() => loadConfig({ ...s3, COLD_STORAGE_CLASS: "STANDARD" })).toThrow(
      /COLD_STORAGE_CLASS: STANDARD is where objects are written/,
    );
    expect(() => loadConfig({ COLD_STORAGE_CLASS: "STANDARD_IA" })).toThrow(/COLD_STORAGE_CLASS: is a class of the S3 storage/);
    expect(() => loadConfig({ ...s3, COLD_STORAGE_CLASS: "STANDARD_IA", COLD_STORAGE: "/srv/cold" })).toThrow(
      /COLD_STORAGE, COLD_STORAGE_CLASS: choose one cold tier/,
    );
  });
});
