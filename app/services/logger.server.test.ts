import { AsyncLocalStorage } from "node:async_hooks";
import { context, ROOT_CONTEXT, trace, type Context, type ContextManager } from "@opentelemetry/api";
import { afterEach, describe, expect, it, vi } from "vitest";
import { runWithLogContext, setLogUser } from "./log-context.server";
import { createLogger } from "./logger.server";

function recorded(level: "debug" | "info" | "warn" | "error" = "debug") {
  const lines: Array<{ line: string; isError: boolean }> = [];
  const log = createLogger(level, (line, isError) => void lines.push({ line, isError }));
  const parsed = () => lines.map(({ line }) => JSON.parse(line) as Record<string, unknown>);
  return { log, lines, parsed };
}

/** What an OpenTelemetry SDK registers (the tracing helper's job in the app): an active context per async flow. */
class TestContextManager implements ContextManager {
  private storage = new AsyncLocalStorage<Context>();
  active = () => this.storage.getStore() ?? ROOT_CONTEXT;
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A) {
    return this.storage.run(ctx, () => fn.call(thisArg, ...args));
  }
  bind<T>(_ctx: Context, target: T): T {
    return target;
  }
  enable = () => this;
  disable = () => this;
}

describe("createLogger", () => {
  afterEach(() => {
    context.disable();
    vi.restoreAllMocks();
  });

  it("writes one JSON object per line: level as a label, ISO time, the fields and the message", () => {
    const { log, lines, parsed } = recorded();
    log.info("Coffer is listening", { port: 3000, storage: "local" });
    expect(lines).toHaveLength(1);
    expect(lines[0].line).not.toContain("\n");
    const [line] = parsed();
    expect(line).toEqual({ level: "info", time: expect.any(String), port: 3000, storage: "local", message: "Coffer is listening" });
    expect(new Date(line.time as string).toISOString()).toBe(line.time);
  });

  it("writes the time as Date#toISOString does, across milliseconds and seconds", () => {
    const { log, parsed } = recorded();
    vi.useFakeTimers({ toFake: ["Date"] });
    const instants = ["2026-12-06T03:59:59.999Z", "2026-12-06T04:00:00.000Z", "2026-12-06T04:00:00.007Z", "2026-12-06T04:00:00.042Z"];
    try {
      for (const instant of instants) {
        vi.setSystemTime(new Date(instant));
        log.info("tick");
      }
    } finally {
      vi.useRealTimers();
    }
    expect(parsed().map((line) => line.time)).toEqual(instants);
  });

  it("drops lines below its level and sends warn and error apart (stderr by default)", () => {
    const { log, lines, parsed } = recorded("info");
    log.debug("hidden");
    log.info("shown");
    log.warn("careful");
    log.error("broken");
    expect(parsed().map((line) => line.level)).toEqual(["info", "warn", "error"]);
    expect(lines.map((line) => line.isError)).toEqual([false, true, true]);

    const stdout = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    const standard = createLogger("info");
    standard.info("to stdout");
    standard.error("to stderr");
    expect(stdout.mock.calls.map(([chunk]) => String(chunk))).toEqual([expect.stringMatching(/^\{.*"message":"to stdout"\}\n$/)]);
    expect(stderr.mock.calls.map(([chunk]) => String(chunk))).toEqual([expect.stringMatching(/^\{.*"message":"to stderr"\}\n$/)]);
  });

  it("redacts fields whose names look secret, and secret request headers passed on", () => {
    const { log, lines } = recorded();
    log.info("login", {
      password: "hunter2",
      sessionToken: "tok-1",
      apiKey: "key-1",
      Cookie: "coffer_session=abc",
      headers: { cookie: "coffer_session=def", authorization: "Bearer ghi", "set-cookie": "x=jkl", accept: "text/html" },
      userId: "u1",
    });
    const line = lines[0].line;
    for (const secret of ["hunter2", "tok-1", "key-1", "abc", "def", "ghi", "jkl"]) expect(line).not.toContain(secret);
    expect(JSON.parse(line)).toMatchObject({
      password: "[redacted]",
      headers: { cookie: "[redacted]", accept: "text/html" },
      userId: "u1",
    });
  });

  it("serialises Errors, with the stack on error lines only", () => {
    const { log, parsed } = recorded();
    const error = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
    log.warn("cache unreachable", { error });
    log.error("request failed", { error });
    log.error("request failed", { error, stack: error.stack });
    const [warned, failed, explicit] = parsed();
    expect(warned.error).toEqual({ name: "Error", message: "connect ECONNREFUSED", code: "ECONNREFUSED" });
    expect(failed.error).toMatchObject({ message: "connect ECONNREFUSED", stack: expect.stringContaining("logger.server.test.ts") });
    expect(explicit.error).not.toHaveProperty("stack");
    expect(explicit.stack).toBe(error.stack);
  });

  it("names the request, its route class and its user on every line written while handling it", async () => {
    const { log, parsed } = recorded();
    log.info("before");
    await runWithLogContext({ requestId: "req-1", route: "page" }, async () => {
      log.info("session read");
      await new Promise((resolve) => setTimeout(resolve, 1));
      setLogUser("user-1");
      log.info("after the user is known", { route: "overridden by the call" });
    });
    log.info("after");
    expect(parsed()).toEqual([
      expect.not.objectContaining({ request_id: expect.anything() }),
      expect.objectContaining({ request_id: "req-1", route: "page", message: "session read" }),
      expect.objectContaining({ request_id: "req-1", route: "overridden by the call", user_id: "user-1" }),
      expect.not.objectContaining({ request_id: expect.anything() }),
    ]);
    expect(parsed()[1]).not.toHaveProperty("user_id");
  });

  it("carries the active span's trace and span ids when tracing is on", () => {
    const { log, parsed } = recorded();
    log.info("no tracing: no ids");
    expect(context.setGlobalContextManager(new TestContextManager())).toBe(true);
    const spanContext = { traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7", traceFlags: 1 };
    context.with(trace.setSpanContext(context.active(), spanContext), () => log.info("traced"));
    const invalid = { ...spanContext, traceId: "0".repeat(32) };
    context.with(trace.setSpanContext(context.active(), invalid), () => log.info("invalid span context"));
    const [untraced, traced, unvalid] = parsed();
    expect(untraced).not.toHaveProperty("trace_id");
    expect(traced).toMatchObject({ trace_id: spanContext.traceId, span_id: spanContext.spanId });
    expect(unvalid).not.toHaveProperty("trace_id");
  });
});
