// The OpenTelemetry SDK started in this process (app/services/tracing/sdk.server.ts): a span
// Coffer makes reaches an OTLP/HTTP receiver with the configured service name and resource. The
// other tracing tests start it in child processes, whose coverage is not collected.
import { afterAll, describe, expect, it } from "vitest";
import { startSdk } from "~/services/tracing/sdk.server";
import { inSpan } from "~/services/tracing/spans.server";
import { flushSpans, tracingEnabled } from "~/services/tracing/state.server";
import { createLogger } from "~/services/logger.server";
import { startOtlpReceiver } from "./otlp-receiver";

describe("startSdk", () => {
  const receiver = startOtlpReceiver();
  afterAll(async () => (await receiver).close());

  it("exports Coffer's spans over OTLP/HTTP with the service name and resource attributes", async () => {
    const { endpoint, spans } = await receiver;
    await startSdk(
      {
        endpoint: `${endpoint}/v1/traces`,
        protocol: "http/json",
        serviceName: "coffer-sdk-test",
        sampler: "parentbased_always_on",
        samplerRatio: 1,
        resourceAttributes: { "deployment.environment": "test" },
        batchDelayMs: 50,
      },
      false,
      createLogger("error"),
    );
    expect(tracingEnabled()).toBe(true);

    expect(await inSpan("test.work", { "test.kind": "unit" }, async () => 42)).toBe(42);
    await flushSpans();

    await expect.poll(() => spans.find((span) => span.name === "test.work")).toBeDefined();
    const span = spans.find((candidate) => candidate.name === "test.work")!;
    expect(span.attributes).toMatchObject({ "test.kind": "unit" });
    expect(span.resource).toMatchObject({ "service.name": "coffer-sdk-test", "deployment.environment": "test" });
  });
});
