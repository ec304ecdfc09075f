// With tracing on, every storage call is a span named after the operation, carrying the driver
// and the operation but never a key; results and errors pass through unchanged.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import { SpanStatusCode, trace } from "@opentelemetry/api";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-node";
import { DataStore, Upload } from "@tus/utils";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { markTracingEnabled } from "~/services/tracing/state.server";
import { LocalObjectStore } from "./local.server";
import { ObjectNotFoundError } from "./types";
import { TracedObjectStore, TracedTusStore } from "./traced.server";

const exporter = new InMemorySpanExporter();
const directory = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-traced-"));
const KEY = "secret-name.txt";

const spans = () => exporter.getFinishedSpans().map((span) => ({ name: span.name, attributes: span.attributes, status: span.status.code }));

beforeAll(() => {
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
  markTracingEnabled({ flush: async () => {}, nameRoute: () => {} });
});
afterAll(() => {
  trace.disable();
  delete (globalThis as Record<symbol, unknown>)[Symbol.for("coffer.tracing")];
  fs.rmSync(directory, { recursive: true, force: true });
});
beforeEach(() => exporter.reset());

describe("TracedObjectStore", () => {
  it("makes each call a span with the driver and operation, never the key, and passes results through", async () => {
    const store = new TracedObjectStore(new LocalObjectStore(directory));
    await store.init();
    expect(store.driver).toBe("local");

    expect(await store.put(KEY, Readable.from(["hello"]), { size: 5 })).toEqual({ size: 5 });
    expect(await text(await store.get(KEY))).toBe("hello");
    expect((await store.stat(KEY))?.size).toBe(5);
    await store.copy(KEY, "copy.txt");
    const listed: string[] = [];
    for await (const object of store.list()) listed.push(object.key);
    expect(listed.sort()).toEqual(["copy.txt", KEY]);
    await store.delete("copy.txt");
    await store.deleteMany([KEY]);
    expect(await store.stat(KEY)).toBeNull();
    await store.health();
    expect(
      await store.presignedGetUrl(KEY, { expiresInSeconds: 60, contentType: "text/plain", contentDisposition: "attachment" }),
    ).toBeNull();

    expect(spans().map((span) => span.name)).toEqual([
      "storage.put",
      "storage.get",
      "storage.stat",
      "storage.copy",
      "storage.delete",
      "storage.delete_many",
      "storage.stat",
    ]);
    for (const span of spans()) {
      expect(span.attributes).toEqual({ "storage.driver": "local", "storage.operation": span.name.slice("storage.".length) });
      expect(JSON.stringify(span.attributes)).not.toContain("secret-name");
    }
  });

  it("marks a failed call's span as an error with the error's class, and rethrows it", async () => {
    const store = new TracedObjectStore(new LocalObjectStore(directory));
    const failure = await store.get("missing.txt").catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ObjectNotFoundError);
    expect(spans()).toEqual([
      {
        name: "storage.get",
        attributes: { "storage.driver": "local", "storage.operation": "get", "error.type": "ObjectNotFoundError" },
        status: SpanStatusCode.ERROR,
      },
    ]);
  });
});

describe("TracedTusStore", () => {
  it("makes each tus call a storage.tus span and passes results through", async () => {
    const inner = new LocalObjectStore(directory);
    const store = new TracedObjectStore(inner).createTusDataStore({ expirationPeriodInMilliseconds: 60_000 });
    expect(store).toBeInstanceOf(TracedTusStore);
    expect(store.extensions).toEqual(inner.createTusDataStore({ expirationPeriodInMilliseconds: 60_000 }).extensions);
    expect(store.getExpiration()).toBe(60_000);

    const created = await store.create(new Upload({ id: "upload-1", offset: 0, size: undefined, metadata: {} }));
    expect(created.id).toBe("upload-1");
    await store.declareUploadLength("upload-1", 4);
    expect(await store.write(Readable.from([Buffer.from("data")]), "upload-1", 0)).toBe(4);
    expect((await store.getUpload("upload-1")).offset).toBe(4);
    expect(await text(await (store as TracedTusStore).read("upload-1"))).toBe("data");
    await store.remove("upload-1");
    expect(await store.deleteExpired()).toBe(0);

    expect(spans().map((span) => [span.name, span.attributes["storage.operation"]])).toEqual([
      ["storage.tus.create", "tus.create"],
      ["storage.tus.declare_length", "tus.declare_length"],
      ["storage.tus.write", "tus.write"],
      ["storage.tus.get_upload", "tus.get_upload"],
      ["storage.tus.remove", "tus.remove"],
      ["storage.tus.delete_expired", "tus.delete_expired"],
    ]);
  });

  it("says so when the store beneath cannot read uploads back", () => {
    const store = new TracedTusStore(new DataStore(), "local");
    expect(() => store.read("upload-1")).toThrow("This upload store cannot read uploads back.");
  });
});
