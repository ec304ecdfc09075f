import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "~/config.server";
import { redactedPath, redactedUrl } from "./redaction.server";

const BASE = { NODE_ENV: "test" };

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig({ ...BASE, ...env });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe("tracing configuration (OTEL_*)", () => {
  it("is off without an OTLP endpoint, whatever else is set", () => {
    expect(loadConfig({ ...BASE, OTEL_SERVICE_NAME: "x", OTEL_TRACES_SAMPLER: "always_on" }).tracing).toBeUndefined();
  });

  it("is on with OTEL_EXPORTER_OTLP_ENDPOINT, sending to /v1/traces under it, with the spec's defaults", () => {
    expect(loadConfig({ ...BASE, OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/" }).tracing).toEqual({
      endpoint: "http://collector:4318/v1/traces",
      protocol: "http/protobuf",
      serviceName: "coffer",
      sampler: "parentbased_always_on",
      samplerRatio: 1,
      resourceAttributes: {},
      batchDelayMs: 5000,
    });
  });

  it("takes the traces endpoint as it is, and the traces protocol over the general one", () => {
    const tracing = loadConfig({
      ...BASE,
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://tempo.example/otlp/v1/traces",
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/json",
      OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
      OTEL_TRACES_SAMPLER_ARG: "0.25",
      OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=prod,service.name=files,team=a%2Cb",
    }).tracing;
    expect(tracing).toMatchObject({
      endpoint: "https://tempo.example/otlp/v1/traces",
      protocol: "http/json",
      sampler: "parentbased_traceidratio",
      samplerRatio: 0.25,
      serviceName: "files",
      resourceAttributes: { "deployment.environment": "prod", "service.name": "files", team: "a,b" },
    });
    expect(loadConfig({ ...BASE, OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_SERVICE_NAME: "coffer-eu" }).tracing?.serviceName).toBe(
      "coffer-eu",
    );
  });

  it("is off with OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none, endpoint or not", () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" };
    expect(loadConfig({ ...BASE, ...endpoint, OTEL_SDK_DISABLED: "true" }).tracing).toBeUndefined();
    expect(loadConfig({ ...BASE, ...endpoint, OTEL_TRACES_EXPORTER: "none" }).tracing).toBeUndefined();
    expect(loadConfig({ ...BASE, ...endpoint, OTEL_SDK_DISABLED: "false" }).tracing).toBeDefined();
  });

  it("refuses what it cannot do, naming the variable", () => {
    expect(problemsOf({ OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" })).toEqual([
      expect.stringMatching(/^OTEL_EXPORTER_OTLP_ENDPOINT: must be a URL starting with http:\/\/ or https:\/\//),
    ]);
    expect(problemsOf({ OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" })).toEqual([
      expect.stringMatching(/^OTEL_EXPORTER_OTLP_PROTOCOL: .*gRPC is not supported/),
    ]);
    expect(problemsOf({ OTEL_TRACES_SAMPLER: "sometimes" })).toEqual([expect.stringMatching(/^OTEL_TRACES_SAMPLER: use one of always_on/)]);
    expect(problemsOf({ OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "1.5" })).toEqual([
      "OTEL_TRACES_SAMPLER_ARG: must be a number between 0 and 1",
    ]);
    expect(problemsOf({ OTEL_TRACES_SAMPLER_ARG: "0.5" })).toEqual([
      "OTEL_TRACES_SAMPLER_ARG: applies only to OTEL_TRACES_SAMPLER=traceidratio or parentbased_traceidratio",
    ]);
    expect(problemsOf({ OTEL_RESOURCE_ATTRIBUTES: "no-equals-sign" })).toEqual([
      expect.stringMatching(/^OTEL_RESOURCE_ATTRIBUTES: use key=value/),
    ]);
    expect(problemsOf({ OTEL_TRACES_EXPORTER: "zipkin" })).toEqual([expect.stringMatching(/^OTEL_TRACES_EXPORTER: use otlp or none/)]);
  });
});

describe("URL redaction of exported spans", () => {
  it("drops queries and share and reset tokens, keeps ids", () => {
    expect(redactedPath("/files/cm0abc?sort=name&q=tax%20return")).toBe("/files/cm0abc");
    expect(redactedPath("/s/Zt9secret/download/cm0file")).toBe("/s/:token/download/cm0file");
    expect(redactedPath("/reset-password/abc.def")).toBe("/reset-password/:token");
    expect(redactedPath("/search")).toBe("/search");
    expect(redactedUrl("http://swift:8080/bucket/upload-id?uploadId=x&partNumber=2")).toBe("http://swift:8080/bucket/upload-id");
    expect(redactedUrl("not a url")).toBe("");
  });
});
