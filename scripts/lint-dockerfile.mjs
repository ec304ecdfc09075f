#!/usr/bin/env node
// Lints the Dockerfile. hadolint is not packaged for Debian or npm, so this checks the hadolint
// rules that matter for this image, with the same ids, on the parse of `dockerfile-ast` (the
// parser of the Dockerfile language server), plus Coffer's own rules (COFFER*). The list, with
// what each rule prevents: docs/pipeline.md#dockerfile-lint. `npm run lint:deploy` runs it.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { DockerfileParser } from "dockerfile-ast";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/**
 * How `npm start` runs the server: package.json's start script is `[NAME=value…] exec node
 * [--flag…] build/start.js`. The image must run it the same way (COFFER4), and so do the
 * benchmarks (bench/lib/app-process.ts). Null when the script has another form.
 */
export function startCommand(script) {
  const match = /^((?:\w+=\S*\s+)*)(?:exec\s+)?node((?:\s+--\S+)*)\s+build\/start\.js$/.exec(script.trim());
  if (!match) return null;
  const env = match[1]
    .split(/\s+/)
    .filter(Boolean)
    .map((pair) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)]);
  return { env, nodeArgs: match[2].split(/\s+/).filter(Boolean) };
}

const packageStartScript = () => JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).scripts.start ?? "";

/** Problems of a Dockerfile's text, as "line N: RULE message". */
export function lintDockerfile(text, startScript = packageStartScript()) {
  const dockerfile = DockerfileParser.parse(text);
  const problems = [];
  const report = (instruction, rule, message) => problems.push(`line ${instruction.getRange().start.line + 1}: ${rule} ${message}`);
  const argDefaults = new Map(
    dockerfile.getInitialARGs().flatMap((arg) => (arg.getProperty() ? [[arg.getProperty().getName(), arg.getProperty().getValue()]] : [])),
  );
  const expand = (value) => value.replace(/\$\{?(\w+)\}?/g, (whole, name) => argDefaults.get(name) ?? whole);

  const stages = [];
  let stage = null;
  let shellHasPipefail = false;
  for (const instruction of dockerfile.getInstructions()) {
    const keyword = instruction.getKeyword();
    const args = instruction.getArgumentsContent() ?? "";
    if (keyword === "FROM") {
      const image = expand(instruction.getImage() ?? "");
      const name = instruction.getBuildStage();
      const fromStage = stages.find((s) => s.name === image);
      if (!fromStage) {
        if (!/:[\w.-]+$|@sha256:/.test(image)) report(instruction, "DL3006", `always tag the image explicitly: ${image}`);
        if (/:latest$/.test(image)) report(instruction, "DL3007", `do not use the latest tag: ${image}`);
      }
      if (name && stages.some((s) => s.name === name)) report(instruction, "DL3024", `FROM aliases must be unique: ${name}`);
      stage = { name, user: fromStage?.user ?? null, instructions: [] };
      stages.push(stage);
      shellHasPipefail = false;
      continue;
    }
    if (!stage) continue;
    stage.instructions.push(instruction);
    if (keyword === "USER") stage.user = args.trim();
    if (keyword === "SHELL") shellHasPipefail = /pipefail/.test(args);
    if (keyword === "WORKDIR" && !/^(\/|\$)/.test(args.trim())) report(instruction, "DL3000", "use absolute WORKDIR");
    if (keyword === "ADD" && !/^(https?:|git@)/.test(args.trim().split(/\s+/)[0] ?? ""))
      report(instruction, "DL3020", "use COPY instead of ADD for files and folders");
    if ((keyword === "CMD" || keyword === "ENTRYPOINT") && !args.trim().startsWith("["))
      report(instruction, "DL3025", `use arguments JSON notation for ${keyword}`);
    if (keyword === "COPY") {
      const from = instruction
        .getFlags()
        .find((flag) => flag.getName() === "from")
        ?.getValue();
      if (from && !/[:/]/.test(from) && !stages.slice(0, -1).some((s) => s.name === from))
        report(instruction, "DL3022", `COPY --from should reference a previously defined FROM alias: ${from}`);
    }
    if (keyword === "RUN") {
      if (/(^|[;&|]\s*)sudo\s/.test(args)) report(instruction, "DL3004", "do not use sudo");
      if (/apt-get\s+(\S+\s+)*install/.test(args)) {
        if (!/install\s+(\S+\s+)*-y\b|--yes|--assume-yes/.test(args))
          report(instruction, "DL3014", "use the -y switch for apt-get install");
        if (!/--no-install-recommends/.test(args)) report(instruction, "DL3015", "avoid additional packages: --no-install-recommends");
        if (!/rm -rf \/var\/lib\/apt\/lists/.test(args)) report(instruction, "DL3009", "delete the apt-get lists after installing");
      }
      if (/apt-get\s+upgrade|apt-get\s+dist-upgrade/.test(args)) report(instruction, "DL3005", "do not use apt-get upgrade");
      if (/\bnpm\s+install\b/.test(args) && !/npm\s+install\s+-g/.test(args))
        report(instruction, "COFFER1", "use npm ci (the lockfile) rather than npm install");
      if (/[^|]\|[^|]/.test(args) && !shellHasPipefail) report(instruction, "DL4006", "set SHELL -o pipefail before RUN with a pipe");
    }
  }

  const runtime = stages.at(-1);
  if (!runtime) return [...problems, "line 1: DL3061 no FROM instruction"];
  const last = (keyword) => runtime.instructions.filter((i) => i.getKeyword() === keyword).at(-1);
  const firstLine = runtime.instructions[0] ?? dockerfile.getInstructions()[0];
  if (!runtime.user || /^(0|root)(:|$)/.test(runtime.user))
    report(last("USER") ?? firstLine, "DL3002", "the image must run as a non-root user");
  else if (!/^[1-9]\d*(:\d+)?$/.test(runtime.user))
    report(last("USER"), "COFFER2", "USER must be numeric so that Kubernetes runAsNonRoot can verify it");
  const healthcheck = last("HEALTHCHECK");
  if (!healthcheck || !/\/healthz/.test(healthcheck.getArgumentsContent() ?? ""))
    report(healthcheck ?? firstLine, "COFFER3", "the image needs a HEALTHCHECK of /healthz");
  const cmd = last("CMD");
  const command = cmd?.getArgumentsContent() ?? "";
  const start = startCommand(startScript) ?? {
    env: [],
    nodeArgs: ["(package.json's start script is not `[NAME=value…] exec node [--flag…] build/start.js`)"],
  };
  const expectedCmd = JSON.stringify(["node", ...start.nodeArgs, "build/start.js"]);
  if (command.replace(/,\s*/g, ",").trim() !== expectedCmd)
    report(
      cmd ?? firstLine,
      "COFFER4",
      `the server must start compiled and as \`npm start\` does: CMD ${expectedCmd.replace(/,/g, ", ")} (no tsx)`,
    );
  const runtimeEnv = new Map(
    runtime.instructions.filter((i) => i.getKeyword() === "ENV").flatMap((i) => i.getProperties().map((p) => [p.getName(), p.getValue()])),
  );
  const missing = start.env.filter(([name, value]) => runtimeEnv.get(name) !== value).map(([name, value]) => `${name}=${value}`);
  if (missing.length > 0) report(cmd ?? firstLine, "COFFER6", `\`npm start\` sets it, so the image needs ENV ${missing.join(" ")}`);
  const port = runtime.instructions
    .filter((i) => i.getKeyword() === "ENV")
    .flatMap((i) => i.getProperties())
    .find((p) => p.getName() === "PORT")
    ?.getValue();
  const exposed = last("EXPOSE")?.getArgumentsContent()?.trim();
  if (!port || exposed !== port) report(last("EXPOSE") ?? firstLine, "COFFER5", `EXPOSE (${exposed}) must be ENV PORT (${port})`);
  return problems;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = process.argv[2] ?? path.join(ROOT, "Dockerfile");
  const problems = lintDockerfile(fs.readFileSync(file, "utf8"));
  for (const problem of problems) console.error(`${path.relative(process.cwd(), file)}: ${problem}`);
  console.log(problems.length === 0 ? "Dockerfile: no lint problems" : `Dockerfile: ${problems.length} problem(s)`);
  process.exit(problems.length === 0 ? 0 : 1);
}
