/**
 * Renders docs/configuration.md and .env.example from ENV_DOCS. Pure: scripts/generate-config-docs.ts
 * writes the result, and app/config-docs.test.ts compares it with the files in the repository.
 */
import { CONFIG_SECTIONS, ENV_DOCS, SECTION_NOTES, type EnvVarDoc } from "./config-reference";

export const CONFIG_DOC_PATH = "docs/configuration.md";
export const ENV_EXAMPLE_PATH = ".env.example";
export const REGENERATE_COMMAND = "npm run docs:config";

const WIDTH = 100;

function variablesOf(section: string): Array<[string, EnvVarDoc]> {
  return Object.entries(ENV_DOCS).filter(([, doc]) => doc.section === section);
}

/**
 * Greedy word wrap. A line is never started with a word Markdown would read as a list item,
 * heading or quote, so wrapping cannot change the meaning of the text.
 */
export function wrap(text: string, width: number, prefix = ""): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const fits = (prefix + line + " " + word).length <= width;
    const unsafeStart = /^([-+*>#|]|\d+[.)])/.test(word);
    if (line === "" || fits || unsafeStart) line = line === "" ? word : `${line} ${word}`;
    else {
      lines.push(prefix + line);
      line = word;
    }
  }
  if (line !== "") lines.push(prefix + line);
  return lines;
}

function defaultText(doc: EnvVarDoc): string {
  if (doc.default !== undefined) return `Default: \`${doc.default}\`.`;
  return doc.unset ? `Default: unset (${doc.unset}).` : "Default: unset.";
}

const DOC_HEADER = `<!-- Generated from app/config-reference.ts by \`${REGENERATE_COMMAND}\`; edit that file, not this one. -->

# Configuration reference

Coffer is configured only through environment variables. \`app/config.server.ts\` validates them at
start-up and refuses to start, listing every problem, when one is invalid. An empty value counts as
unset. [\`.env.example\`](../.env.example) lists them all; the app does not read \`.env\` itself
(Docker Compose does; for plain Node use e.g. \`set -a; . ./.env; set +a; npm start\`).

Sizes are bytes or a number with a unit: \`k\`, \`m\`, \`g\`, \`t\` are decimal (\`500MB\`), \`Ki\`, \`Mi\`,
\`Gi\`, \`Ti\` binary (\`32MiB\`); the \`B\` is optional and case does not matter. Booleans accept
\`true\`/\`false\`, \`1\`/\`0\`, \`yes\`/\`no\`.
`;

export function renderConfigurationDoc(): string {
  const parts = [DOC_HEADER];
  for (const section of CONFIG_SECTIONS) {
    parts.push(`## ${section}\n`);
    const note = SECTION_NOTES[section];
    if (note) parts.push(`${wrap(note, WIDTH).join("\n")}\n`);
    for (const [name, doc] of variablesOf(section)) {
      parts.push(`### \`${name}\`\n`);
      parts.push(`${wrap(`${defaultText(doc)} ${doc.description}`, WIDTH).join("\n")}\n`);
    }
  }
  return parts.join("\n");
}

/** Markdown links read badly in a shell comment: keep their text and point into docs/. */
function plainText(markdown: string): string {
  return markdown.replace(/\[([^\]]+)\]\(([^)]+)\)/g, (_, text: string, target: string) =>
    /^https?:/.test(target) ? `${text} (${target})` : text.endsWith(".md") ? `docs/${text}` : text,
  );
}

const ENV_HEADER = `# Coffer configuration. Generated from app/config-reference.ts by \`${REGENERATE_COMMAND}\`;
# docs/configuration.md says the same with links. Every variable is optional. An empty value means
# "not set", so copying this file to .env changes nothing. The app does not read .env by itself:
# docker compose reads it for docker-compose.yml, and for plain Node load it into the environment,
# e.g. \`set -a; . ./.env; set +a; npm start\`.
`;

export function renderEnvExample(): string {
  const parts = [ENV_HEADER];
  for (const section of CONFIG_SECTIONS) {
    const note = SECTION_NOTES[section];
    parts.push(`# ---- ${section}${note ? ` (${plainText(note).replace(/^See /, "").replace(/\.$/, "")})` : ""} `.padEnd(WIDTH, "-"));
    for (const [name, doc] of variablesOf(section)) {
      parts.push(...wrap(`${plainText(doc.description)} ${defaultText(doc)}`, WIDTH, "# "));
      parts.push(`${name}=`);
    }
    parts.push("");
  }
  return parts.join("\n");
}
