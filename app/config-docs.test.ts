import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CONFIG_DOC_PATH, ENV_EXAMPLE_PATH, REGENERATE_COMMAND, renderConfigurationDoc, renderEnvExample, wrap } from "./config-docs";
import { ENV_DOCS } from "./config-reference";
import { envSchema } from "./config.server";

const root = path.resolve(import.meta.dirname, "..");

describe("generated configuration docs", () => {
  it.each([
    [CONFIG_DOC_PATH, renderConfigurationDoc],
    [ENV_EXAMPLE_PATH, renderEnvExample],
  ])("%s is up to date with app/config-reference.ts", (file, render) => {
    const onDisk = fs.readFileSync(path.join(root, file), "utf8");
    expect(onDisk === render(), `${file} is out of date: run \`${REGENERATE_COMMAND}\` and commit the result`).toBe(true);
  });

  it("describes exactly the variables the schema reads", () => {
    expect(Object.keys(ENV_DOCS).sort()).toEqual(Object.keys(envSchema.shape).sort());
  });

  it.each(Object.entries(ENV_DOCS))("states the schema's own default for %s", (name, doc) => {
    const field = envSchema.shape[name as keyof typeof envSchema.shape];
    const schemaDefault = field.parse(undefined);
    if (doc.default === undefined) expect(schemaDefault, `${name} has a default in the schema; document it`).toBeUndefined();
    else expect(field.parse(doc.default), `${name}: the documented default differs from the schema's`).toEqual(schemaDefault);
  });

  it("lists every variable once in .env.example, unset", () => {
    const assigned = renderEnvExample()
      .split("\n")
      .filter((line) => !line.startsWith("#") && line !== "");
    expect(assigned.sort()).toEqual(
      Object.keys(ENV_DOCS)
        .map((name) => `${name}=`)
        .sort(),
    );
  });

  it("wraps without starting a line that Markdown would read as a list or heading", () => {
    expect(wrap("a b - c d # e", 3)).toEqual(["a b -", "c d #", "e"]);
    expect(wrap("one two three", 7, "# ")).toEqual(["# one", "# two", "# three"]);
  });
});
