import http from "node:http";
import type { AddressInfo } from "node:net";

/**
 * Where a traced Coffer sends its spans in the benchmarks: a local OTLP/HTTP endpoint that reads
 * each export and answers 200, as a collector on the same host would; it counts the bytes.
 */
export async function startOtlpSink(): Promise<{ endpoint: string; received: () => number; close: () => Promise<void> }> {
  let bytes = 0;
  const server = http.createServer((req, res) => {
    req.on("data", (chunk: Buffer) => (bytes += chunk.length));
    req.on("end", () => res.writeHead(200, { "content-type": "application/x-protobuf" }).end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    received: () => bytes,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The environment that turns tracing on at 100 % sampling, exporting to `endpoint`. */
export function tracingEnv(endpoint: string): Record<string, string> {
  return { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_TRACES_SAMPLER: "always_on" };
}
