import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import yazl from "yazl";
import { ClamdClient, ScanFailedError, ScannerUnavailableError } from "~/services/malware/clamd.server";
import { freePort } from "./setup/free-port";
import { EICAR, EICAR_SIGNATURE, type RunningClamd, startClamd } from "./setup/clamd";

const MiB = 1024 * 1024;

function zipOf(name: string, content: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const zip = new yazl.ZipFile();
    zip.addBuffer(Buffer.from(content), name);
    zip.end();
    const parts: Buffer[] = [];
    zip.outputStream.on("data", (part: Buffer) => parts.push(part));
    zip.outputStream.on("end", () => resolve(Buffer.concat(parts)));
    zip.outputStream.on("error", reject);
  });
}

/** `total` bytes of a repeating clean pattern, in chunks of `chunk`. */
function* cleanBytes(total: number, chunk: number) {
  const block = Buffer.alloc(chunk, "coffer clean bytes ");
  for (let sent = 0; sent < total; sent += chunk) yield block.subarray(0, Math.min(chunk, total - sent));
}

describe("clamd client (a real clamd with the tests' EICAR signature)", () => {
  let clamd: RunningClamd;
  let client: ClamdClient;
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "coffer-clamd-"));

  beforeAll(async () => {
    clamd = await startClamd(workDir, 8 * MiB);
    client = new ClamdClient({ host: clamd.host, port: clamd.port });
  }, 90_000);

  afterAll(async () => {
    await clamd?.stop();
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  it("answers PING and names its version", async () => {
    await expect(client.ping()).resolves.toBeUndefined();
    expect(await client.version()).toMatch(/^ClamAV \d+\.\d+/);
  });

  it("finds EICAR, also split over many small writes, and passes clean bytes", async () => {
    const whole = client.start();
    await whole.write(Buffer.from(`some text before ${EICAR} and after`));
    expect(await whole.finish()).toEqual({ infected: true, signature: expect.stringMatching(new RegExp(`^${EICAR_SIGNATURE}`)) });

    const split = client.start();
    for (const char of Buffer.from(EICAR)) await split.write(Buffer.of(char));
    expect((await split.finish()).infected).toBe(true);

    const clean = client.start();
    await clean.write(Buffer.from("a perfectly ordinary file"));
    expect(await clean.finish()).toEqual({ infected: false });
  });

  it("finds EICAR inside a ZIP", async () => {
    const verdict = await client.scanStream(Readable.from([await zipOf("inner/readme.com", EICAR)]));
    expect(verdict.infected).toBe(true);
  });

  it("scans a stream of several MiB in chunks larger than one INSTREAM chunk", async () => {
    expect(await client.scanStream(Readable.from(cleanBytes(6 * MiB, MiB)))).toEqual({ infected: false });
  });

  it("reports clamd's refusal of a stream over its StreamMaxLength as a failed scan, not a verdict", async () => {
    const session = client.start();
    const writing = (async () => {
      for (const chunk of cleanBytes(clamd.streamMaxBytes + 2 * MiB, MiB)) await session.write(chunk);
      return session.finish();
    })();
    await expect(writing).rejects.toThrow(ScanFailedError);
    await expect(writing).rejects.toThrow(/size limit/);
  });

  it("says clamd is unavailable when nothing listens, for PING and for a scan", async () => {
    const nowhere = new ClamdClient({ host: "127.0.0.1", port: await freePort() });
    await expect(nowhere.ping()).rejects.toThrow(ScannerUnavailableError);
    const session = nowhere.start();
    await expect(
      (async () => {
        await session.write(Buffer.from("bytes"));
        return session.finish();
      })(),
    ).rejects.toThrow(ScannerUnavailableError);
  });

  it("gives up on a clamd that stops answering", async () => {
    const silent = await import("node:net").then(({ createServer }) => createServer(() => {}));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      const slow = new ClamdClient({ host: "127.0.0.1", port }, 300);
      await expect(slow.ping()).rejects.toThrow(/did not answer within 300 ms/);
    } finally {
      silent.close();
    }
  });
});
