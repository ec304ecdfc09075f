// The log rotation in docker-compose.yml and the Vector configurations in deploy/logging/,
// without Docker or Vector (neither runs here): the files parse, each pipeline is wired from
// the app container to its store, and every field they read is one that Coffer's lines carry.
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { describe, expect, it } from "vitest";
import { runWithLogContext } from "~/services/log-context.server";
import { createLogger } from "~/services/logger.server";

const ROOT = path.resolve(import.meta.dirname, "..");
const LOGGING_DIR = path.join(ROOT, "deploy/logging");

type VectorConfig = {
  sources: Record<string, { type: string; include_labels?: string[] }>;
  transforms: Record<string, { type: string; inputs: string[]; source: string }>;
  sinks: Record<string, { type: string; inputs: string[]; labels?: Record<string, string> } & Record<string, unknown>>;
};

const vector = (file: string) => YAML.parse(fs.readFileSync(path.join(LOGGING_DIR, file), "utf8")) as VectorConfig;

/** Lines as Coffer writes them: outside a request, an access line, and a failure. */
function coffersLines(): Array<Record<string, unknown>> {
  const lines: string[] = [];
  const log = createLogger("debug", (line) => void lines.push(line));
  log.info("Coffer is listening", { url: "http://localhost:3000" });
  runWithLogContext({ requestId: "r1", route: "page", userId: "u1" }, () => {
    log.error("request failed", { method: "GET", path: "/files", error: new Error("boom") });
    log.info("request", { method: "GET", route: "page", status: 500, duration_ms: 3.2, bytes_sent: 120, request_id: "r1" });
  });
  return lines.map((line) => JSON.parse(line));
}

describe("docker-compose.yml", () => {
  it("rotates the app's log with Docker's json-file driver", () => {
    const compose = YAML.parse(fs.readFileSync(path.join(ROOT, "docker-compose.yml"), "utf8"));
    const logging = compose.services.app.logging;
    expect(logging.driver).toBe("json-file");
    expect(logging.options["max-size"]).toMatch(/^\$\{COFFER_LOG_MAX_SIZE:-\d+[kmg]\}$/);
    expect(logging.options["max-file"]).toMatch(/^\$\{COFFER_LOG_MAX_FILES:-\d+\}$/);
  });
});

describe("deploy/logging", () => {
  const files = fs.readdirSync(LOGGING_DIR).filter((file) => file.endsWith(".yaml"));

  it("has a Vector pipeline to Loki and one to Elasticsearch, linked from docs/logging.md", () => {
    expect(files.sort()).toEqual(["vector-elasticsearch.yaml", "vector-loki.yaml"]);
    const docs = fs.readFileSync(path.join(ROOT, "docs/logging.md"), "utf8");
    for (const file of files) expect(docs).toContain(`(../deploy/logging/${file})`);
    expect(Object.values(vector("vector-loki.yaml").sinks).map((sink) => sink.type)).toEqual(["loki"]);
    expect(Object.values(vector("vector-elasticsearch.yaml").sinks).map((sink) => sink.type)).toEqual(["elasticsearch"]);
  });

  for (const file of files) {
    describe(file, () => {
      const config = vector(file);

      it("reads the app service's containers and wires each step to the one before", () => {
        const [source] = Object.values(config.sources);
        expect(source).toEqual({ type: "docker_logs", include_labels: ["org.coffer.role=app"] });
        // Whichever compose profile runs the app (full: app, default: app-embedded), it carries the label.
        const compose = YAML.parse(fs.readFileSync(path.join(ROOT, "docker-compose.yml"), "utf8"));
        for (const service of ["app", "app-embedded"])
          expect(compose.services[service].labels, service).toEqual({ "org.coffer.role": "app" });
        const known = new Set(Object.keys(config.sources));
        for (const [name, transform] of Object.entries(config.transforms)) {
          expect(transform.type).toBe("remap");
          for (const input of transform.inputs) expect(known, `${name} reads ${input}`).toContain(input);
          known.add(name);
        }
        for (const [name, sink] of Object.entries(config.sinks)) {
          expect(sink.inputs.length).toBeGreaterThan(0);
          for (const input of sink.inputs) expect(Object.keys(config.transforms), `${name} reads ${input}`).toContain(input);
        }
      });

      it("parses Coffer's JSON lines and reads only fields they carry", () => {
        const [transform] = Object.values(config.transforms);
        expect(transform.source).toContain("parse_json(.message)");
        const lines = coffersLines();
        const written = new Set(lines.flatMap((line) => Object.keys(line)));
        // Fields of the parsed line the program reads (Docker's own: message, container_name, stream, timestamp).
        const docker = new Set(["message", "container_name", "stream", "timestamp"]);
        const read = [...transform.source.matchAll(/(?<![\w"])\.([a-z_]+)/g)].map((match) => match[1]);
        expect(read.length).toBeGreaterThan(0);
        for (const field of read) expect(written.has(field) || docker.has(field) || field === "service", `.${field}`).toBe(true);
        expect(transform.source).toContain('.service = "coffer"');
      });

      it("labels Loki streams only with fields of few values", () => {
        for (const sink of Object.values(config.sinks)) {
          for (const template of Object.values(sink.labels ?? {})) {
            const field = /^\{\{ (\w+) \}\}$/.exec(template)?.[1];
            expect(["service", "level", "route"]).toContain(field);
          }
        }
      });
    });
  }
});
