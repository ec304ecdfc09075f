import { describe, expect, it } from "vitest";
import type { ServerExit } from "./embedded-postgres.server";
import type { Logger } from "./logger.server";
import { watchEmbeddedPostgres } from "./postgres-watchdog.server";

function recordingLog() {
  const lines: Array<{ level: string; message: string; fields?: Record<string, unknown> }> = [];
  const at = (level: string) => (message: string, fields?: Record<string, unknown>) => lines.push({ level, message, fields });
  const log: Logger = { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
  return { log, lines };
}

/** A server whose restarts fail `failures` times, then succeed. */
function fakeServer(failures: number) {
  let listener: ((exit: ServerExit) => void) | null = null;
  let restarts = 0;
  return {
    onUnexpectedExit(l: (exit: ServerExit) => void) {
      listener = l;
    },
    async restart() {
      restarts++;
      if (restarts <= failures) throw new Error(`could not start (${restarts})`);
    },
    die: () => listener?.({ code: null, signal: "SIGKILL" }),
    get restarts() {
      return restarts;
    },
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

describe("watchEmbeddedPostgres", () => {
  it("restarts a server that died, with one log line per attempt", async () => {
    const server = fakeServer(2);
    const { log, lines } = recordingLog();
    const fatal: Error[] = [];
    const watchdog = watchEmbeddedPostgres(server, { log, onFatal: (e) => fatal.push(e), backoffMs: [0, 5, 5, 5] });
    server.die();
    await settle();
    expect(server.restarts).toBe(3);
    expect(fatal).toEqual([]);
    expect(lines.map((l) => l.message)).toEqual([
      "embedded PostgreSQL stopped unexpectedly; restarting it",
      "embedded PostgreSQL restart failed",
      "embedded PostgreSQL restart failed",
      "embedded PostgreSQL restarted",
    ]);
    expect(lines[1]!.fields).toMatchObject({ attempt: 1, of: 4, reason: "could not start (1)", retryInMs: 5 });
    expect(lines[3]!.fields).toMatchObject({ attempt: 3 });
    await watchdog.stop();
  });

  it("reports a fatal error once every attempt failed", async () => {
    const server = fakeServer(Number.POSITIVE_INFINITY);
    const { log, lines } = recordingLog();
    const fatal: Error[] = [];
    watchEmbeddedPostgres(server, { log, onFatal: (e) => fatal.push(e), backoffMs: [0, 5, 5] });
    server.die();
    await settle();
    expect(server.restarts).toBe(3);
    expect(fatal.map((e) => e.message)).toEqual(["The embedded PostgreSQL cannot be restarted: could not start (3)"]);
    expect(lines.at(-1)).toMatchObject({ level: "error", fields: { reason: "could not start (3)", attempts: 3 } });
  });

  it("gives up on a server that keeps dying", async () => {
    const server = fakeServer(0);
    const { log } = recordingLog();
    const fatal: Error[] = [];
    watchEmbeddedPostgres(server, { log, onFatal: (e) => fatal.push(e), backoffMs: [0], maxCrashes: 2 });
    for (let i = 0; i < 3; i++) {
      server.die();
      await settle();
    }
    expect(server.restarts).toBe(2);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]!.message).toMatch(/stopped 3 times/);
  });

  it("once stopped, neither restarts nor calls onFatal, and waits for an attempt in progress", async () => {
    const server = fakeServer(Number.POSITIVE_INFINITY);
    const { log } = recordingLog();
    const fatal: Error[] = [];
    const watchdog = watchEmbeddedPostgres(server, { log, onFatal: (e) => fatal.push(e), backoffMs: [0, 10_000, 10_000] });
    server.die();
    await settle();
    const started = Date.now();
    await watchdog.stop();
    expect(Date.now() - started).toBeLessThan(1_000);
    server.die();
    await settle();
    expect(server.restarts).toBe(1);
    expect(fatal).toEqual([]);
  });
});
