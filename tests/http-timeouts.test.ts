// Connection timeouts: an upload is never cut off while its bytes keep flowing, however long
// it takes; a connection that stalls is closed after HTTP_IDLE_TIMEOUT_SECONDS, and the upload
// keeps what arrived.
import { randomBytes } from "node:crypto";
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "./support/app";
import { TestClient } from "./support/client";
import { createUpload, tusHeaders, uploadOffset } from "./support/tus";

const KiB = 1024;
const IDLE_SECONDS = 5;

describe("HTTP connection timeouts", () => {
  let app: TestApp;
  let client: TestClient;
  beforeAll(async () => {
    app = await startTestApp({ storage: "local", cache: "memory" }, { HTTP_IDLE_TIMEOUT_SECONDS: String(IDLE_SECONDS) });
    client = new TestClient(app.url);
    await client.register("Tim", "tim@example.com");
  });
  afterAll(() => app?.close());

  /** A PATCH of `data` written in `pieces`, `gapMs` apart; resolves with the status, or "closed". */
  function slowPatch(uploadUrl: string, data: Buffer, pieces: number, gapMs: number, announced = data.length): Promise<number | "closed"> {
    const url = new URL(uploadUrl);
    return new Promise((resolve) => {
      const request = http.request({
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: "PATCH",
        headers: tusHeaders(client, {
          "Upload-Offset": "0",
          "Content-Type": "application/offset+octet-stream",
          "Content-Length": String(announced),
        }),
      });
      request.on("response", (response) => {
        response.resume();
        resolve(response.statusCode!);
      });
      request.on("error", () => resolve("closed"));
      request.on("close", () => resolve("closed"));
      const size = Math.ceil(data.length / pieces);
      let sent = 0;
      const next = () => {
        if (request.destroyed) return;
        request.write(data.subarray(sent, sent + size));
        sent += size;
        if (sent < data.length) setTimeout(next, gapMs);
        else if (announced === data.length) request.end();
      };
      next();
    });
  }

  it("lets an upload run longer than the idle timeout while bytes keep coming", async () => {
    const data = randomBytes(64 * KiB);
    const url = await createUpload(app, client, { name: `slow-${data.length}.bin`, size: data.length });
    const started = Date.now();
    expect(await slowPatch(url, data, 8, 1000)).toBe(204);
    expect(Date.now() - started).toBeGreaterThan(IDLE_SECONDS * 1000);
  });

  it("closes a connection that stalls, and the upload keeps what arrived", async () => {
    const data = randomBytes(48 * KiB);
    const url = await createUpload(app, client, { name: `slow-${100 * KiB}.bin`, size: 100 * KiB });
    const started = Date.now();
    // 48 KiB arrive, then nothing, of a body announced as 100 KiB.
    expect(await slowPatch(url, data, 1, 0, 100 * KiB)).toBe("closed");
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(IDLE_SECONDS * 1000 - 500);
    expect(waited).toBeLessThan(IDLE_SECONDS * 1000 + 5000);
    expect(await uploadOffset(client, url)).toBe(data.length);
  });
});
