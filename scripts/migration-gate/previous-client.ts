/**
 * The dynamic half of the expand/contract gate: the previous release's Prisma client, generated
 * from its schema.prisma in git, works on a database migrated to HEAD. For every model it creates
 * a row with the fields that release requires and reads it back selecting every field it knows,
 * which is what its queries need from each table: the columns exist with a readable type, and a
 * row it writes without the columns it does not know is accepted.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import wasm from "@prisma/prisma-schema-wasm";
import { PrismaPg } from "@prisma/adapter-pg";
import { fileAt, type Release, requireCommit } from "./release-marker";

interface Field {
  name: string;
  kind: "scalar" | "object" | "enum" | "unsupported";
  type: string;
  isList: boolean;
  isRequired: boolean;
  isId: boolean;
  hasDefaultValue: boolean;
  isUpdatedAt: boolean;
  relationFromFields?: string[];
  relationToFields?: string[];
}
interface Model {
  name: string;
  fields: Field[];
  primaryKey: { fields: string[] } | null;
}
interface Datamodel {
  models: Model[];
  enums: { name: string; values: { name: string }[] }[];
}

export interface ProbeResult {
  model: string;
  /** Null when the create and the read both worked. */
  error: string | null;
}

/** Generates the previous release's client into `workDir` and returns its datamodel and module. */
export function generatePreviousClient(repo: string, release: Release, workDir: string): { datamodel: Datamodel; clientModule: string } {
  requireCommit(repo, release);
  const schema = fileAt(repo, release.commit, "prisma/schema.prisma");
  const relocated = schema.replace(/(generator\s+client\s*\{[^}]*?output\s*=\s*)"[^"]*"/, '$1"./client"');
  if (relocated === schema) throw new Error("The previous release's schema.prisma has no `output` in its client generator.");
  fs.mkdirSync(workDir, { recursive: true });
  fs.writeFileSync(path.join(workDir, "schema.prisma"), relocated);
  // The generated TypeScript imports @prisma/client's runtime: resolve it from this checkout.
  fs.symlinkSync(path.join(repo, "node_modules"), path.join(workDir, "node_modules"), "dir");
  execFileSync(path.join(repo, "node_modules/.bin/prisma"), ["generate", "--schema", "schema.prisma"], {
    cwd: workDir,
    // Generating needs no schema engine; without one set, prisma tries to download it.
    env: {
      ...process.env,
      PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY || "/bin/sh",
      PRISMA_HIDE_UPDATE_MESSAGE: "1",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const datamodel = JSON.parse(wasm.get_dmmf(JSON.stringify({ prismaSchema: [["schema.prisma", relocated]] }))).datamodel;
  return { datamodel, clientModule: path.join(workDir, "client", "client.ts") };
}

/** Creates and reads one row of every model with the previous release's client. */
export async function probeEveryModel(clientModule: string, datamodel: Datamodel, databaseUrl: string): Promise<ProbeResult[]> {
  const { PrismaClient } = await import(clientModule);
  const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl }) });
  const created = new Map<string, Record<string, unknown>>();
  const results: ProbeResult[] = [];
  try {
    for (const model of inCreationOrder(datamodel.models)) {
      const delegate = prisma[model.name.charAt(0).toLowerCase() + model.name.slice(1)];
      try {
        const row = await delegate.create({ data: requiredData(model, datamodel, created) });
        created.set(model.name, row);
        const scalars = model.fields.filter((field) => field.kind === "scalar" || field.kind === "enum");
        const where = Object.fromEntries(keyFields(model).map((name) => [name, row[name]]));
        await delegate.findFirstOrThrow({ where, select: Object.fromEntries(scalars.map((field) => [field.name, true])) });
        results.push({ model: model.name, error: null });
      } catch (error) {
        results.push({ model: model.name, error: describe(error) });
      }
    }
  } finally {
    await prisma.$disconnect();
  }
  return results;
}

/** The last line of Prisma's message (the rest quotes this file) and its details. */
function describe(error: unknown): string {
  const { message, meta } = error as { message: string; meta?: unknown };
  const last = message.trim().split("\n").at(-1)?.trim() ?? "";
  return meta ? `${last} ${JSON.stringify(meta, (_, value) => (typeof value === "bigint" ? String(value) : value))}` : last;
}

/** Parents before the models whose required relations point at them. */
function inCreationOrder(models: Model[]): Model[] {
  const byName = new Map(models.map((model) => [model.name, model]));
  const ordered: Model[] = [];
  const visiting = new Set<string>();
  const visit = (model: Model) => {
    if (ordered.includes(model) || visiting.has(model.name)) return;
    visiting.add(model.name);
    for (const field of requiredRelations(model)) if (field.type !== model.name) visit(byName.get(field.type)!);
    for (const parent of SAMPLE_HINTS[model.name]?.after ?? []) if (byName.has(parent)) visit(byName.get(parent)!);
    ordered.push(model);
  };
  for (const model of models) visit(model);
  return ordered;
}

function requiredRelations(model: Model): Field[] {
  return model.fields.filter((field) => field.kind === "object" && field.isRequired && field.relationFromFields?.length);
}

function keyFields(model: Model): string[] {
  return model.primaryKey?.fields ?? model.fields.filter((field) => field.isId).map((field) => field.name);
}

/**
 * What CHECK constraints require beyond Prisma's datamodel, by model. Keys the previous release's
 * model lacks are left out, so a hint outlives the field it names.
 */
const SAMPLE_HINTS: Record<string, { after?: string[]; data: (rows: Map<string, Record<string, unknown>>) => Record<string, unknown> }> = {
  // share_links_one_target, user_shares_one_target: a file or a folder.
  ShareLink: { after: ["Folder"], data: (rows) => ({ folderId: rows.get("Folder")?.id }) },
  UserShare: { after: ["Folder"], data: (rows) => ({ folderId: rows.get("Folder")?.id }) },
  // backup_runs_kind_check.
  BackupRun: { data: () => ({ kind: "backup" }) },
};

let counter = 0;

function requiredData(model: Model, datamodel: Datamodel, created: Map<string, Record<string, unknown>>): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const relation of requiredRelations(model)) {
    const parent = created.get(relation.type);
    if (!parent) throw new Error(`no ${relation.type} row to point at (its own probe failed)`);
    relation.relationFromFields!.forEach((from, i) => {
      data[from] = parent[relation.relationToFields![i]];
    });
  }
  for (const field of model.fields) {
    if (field.name in data || !field.isRequired || field.hasDefaultValue || field.isUpdatedAt) continue;
    if (field.kind === "scalar" || field.kind === "enum") data[field.name] = sampleValue(field, datamodel);
  }
  const known = new Set(model.fields.map((field) => field.name));
  for (const [name, value] of Object.entries(SAMPLE_HINTS[model.name]?.data(created) ?? {})) if (known.has(name)) data[name] = value;
  return data;
}

function sampleValue(field: Field, datamodel: Datamodel): unknown {
  if (field.isList) return [];
  counter += 1;
  if (field.kind === "enum") return datamodel.enums.find((e) => e.name === field.type)!.values[0].name;
  switch (field.type) {
    case "String":
      return `probe-${process.pid}-${counter}`;
    case "Int":
      return counter;
    case "BigInt":
      return BigInt(counter);
    case "Float":
    case "Decimal":
      return counter + 0.5;
    case "Boolean":
      return true;
    case "DateTime":
      return new Date();
    case "Json":
      return {};
    case "Bytes":
      return new Uint8Array([counter % 256]);
    default:
      throw new Error(`no sample value for a field of type ${field.type}`);
  }
}
