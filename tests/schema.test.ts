import fs from "node:fs";
import path from "node:path";
import wasm from "@prisma/prisma-schema-wasm";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "./support/database";

/**
 * schema.prisma and the database built by the SQL migrations must agree: every model, field,
 * nullability, unique constraint, index and foreign key in the schema exists in the database.
 */
interface DmmfField {
  name: string;
  dbName: string | null;
  kind: "scalar" | "object" | "enum";
  type: string;
  isRequired: boolean;
  isList: boolean;
  relationFromFields?: string[];
  relationToFields?: string[];
  relationOnDelete?: string;
  /** A native type such as @db.Date: ["Date", []]. */
  nativeType?: [string, string[]] | null;
}
interface DmmfModel {
  name: string;
  dbName: string | null;
  fields: DmmfField[];
}
interface DmmfIndex {
  model: string;
  type: "id" | "unique" | "normal" | "fulltext";
  fields: Array<{ name: string }>;
}

const schema = fs.readFileSync(path.resolve(import.meta.dirname, "../prisma/schema.prisma"), "utf8");
const dmmf = JSON.parse(wasm.get_dmmf(JSON.stringify({ prismaSchema: schema }))) as {
  datamodel: { models: DmmfModel[]; indexes: DmmfIndex[]; enums: Array<{ name: string; values: Array<{ name: string }> }> };
};
const models = dmmf.datamodel.models;
const tableOf = (model: DmmfModel) => model.dbName ?? model.name;
const columnOf = (model: DmmfModel, fieldName: string) => {
  const field = model.fields.find((f) => f.name === fieldName)!;
  return field.dbName ?? field.name;
};

/** A list field (String[]) is an ARRAY column whose udt_name is its element type's with a leading "_". */
const EXPECTED_ARRAY_UDTS: Record<string, string[]> = { String: ["_text", "_varchar"], Int: ["_int4"], BigInt: ["_int8"] };

const EXPECTED_TYPES: Record<string, string[]> = {
  String: ["text", "character varying"],
  BigInt: ["bigint"],
  Int: ["integer"],
  Boolean: ["boolean"],
  DateTime: ["timestamp without time zone", "timestamp with time zone"],
  Json: ["jsonb"],
  Bytes: ["bytea"],
};

let client: pg.Client;
let columns: Map<string, { type: string; udt: string; nullable: boolean }>;
let indexes: Array<{ table: string; columns: string[]; unique: boolean; primary: boolean }>;
let foreignKeys: Array<{ table: string; columns: string[]; refTable: string; refColumns: string[]; onDelete: string }>;

beforeAll(async () => {
  const db = await createTestDatabase();
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
  const cols = await client.query<{ table_name: string; column_name: string; data_type: string; udt_name: string; is_nullable: string }>(
    `SELECT table_name, column_name, data_type, udt_name, is_nullable FROM information_schema.columns WHERE table_schema = 'public'`,
  );
  columns = new Map(
    cols.rows.map((r) => [`${r.table_name}.${r.column_name}`, { type: r.data_type, udt: r.udt_name, nullable: r.is_nullable === "YES" }]),
  );
  const idx = await client.query<{ table: string; columns: string[]; unique: boolean; primary: boolean }>(`
    SELECT t.relname AS table, i.indisunique AS unique, i.indisprimary AS primary,
           array_agg(a.attname::text ORDER BY k.ord) AS columns
    FROM pg_index i
    JOIN pg_class t ON t.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public'
    JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON true
    JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
    WHERE i.indpred IS NULL
    GROUP BY t.relname, i.indexrelid, i.indisunique, i.indisprimary`);
  indexes = idx.rows;
  const fks = await client.query<{ table: string; columns: string[]; ref_table: string; ref_columns: string[]; on_delete: string }>(`
    SELECT c.conrelid::regclass::text AS table, c.confrelid::regclass::text AS ref_table, c.confdeltype AS on_delete,
           (SELECT array_agg(attname::text ORDER BY ord) FROM unnest(c.conkey) WITH ORDINALITY AS k(n, ord) JOIN pg_attribute ON attrelid = c.conrelid AND attnum = k.n) AS columns,
           (SELECT array_agg(attname::text ORDER BY ord) FROM unnest(c.confkey) WITH ORDINALITY AS k(n, ord) JOIN pg_attribute ON attrelid = c.confrelid AND attnum = k.n) AS ref_columns
    FROM pg_constraint c WHERE c.contype = 'f'`);
  foreignKeys = fks.rows.map((r) => ({
    table: r.table.replace(/"/g, ""),
    columns: r.columns,
    refTable: r.ref_table.replace(/"/g, ""),
    refColumns: r.ref_columns,
    onDelete: r.on_delete,
  }));
});

afterAll(async () => {
  await client?.end();
});

describe("schema.prisma matches the migrated database", () => {
  it("has models to check", () => {
    expect(models.length).toBeGreaterThanOrEqual(6);
  });

  for (const model of models) {
    describe(`model ${model.name}`, () => {
      for (const field of model.fields.filter((f) => f.kind !== "object")) {
        it(`has column ${tableOf(model)}.${field.dbName ?? field.name} (${field.type}${field.isRequired ? "" : "?"})`, () => {
          const column = columns.get(`${tableOf(model)}.${field.dbName ?? field.name}`);
          expect(column, "column exists").toBeDefined();
          expect(column!.nullable, "nullability").toBe(!field.isRequired);
          if (field.kind === "enum") expect(column!.udt).toBe(field.type);
          else if (field.nativeType?.[0] === "Date") expect(column!.type).toBe("date");
          else if (field.isList) {
            expect(column!.type, "a list is an array column").toBe("ARRAY");
            expect(EXPECTED_ARRAY_UDTS[field.type], `known element type ${field.type}`).toContain(column!.udt);
          } else expect(EXPECTED_TYPES[field.type], `known type ${field.type}`).toContain(column!.type);
        });
      }

      for (const relation of model.fields.filter((f) => f.kind === "object" && f.relationFromFields?.length)) {
        it(`has a foreign key for ${model.name}.${relation.name}`, () => {
          const target = models.find((m) => m.name === relation.type)!;
          const expected = {
            table: tableOf(model),
            columns: relation.relationFromFields!.map((f) => columnOf(model, f)),
            refTable: tableOf(target),
            refColumns: relation.relationToFields!.map((f) => columnOf(target, f)),
          };
          const found = foreignKeys.find(
            (fk) =>
              fk.table === expected.table &&
              fk.refTable === expected.refTable &&
              String(fk.columns) === String(expected.columns) &&
              String(fk.refColumns) === String(expected.refColumns),
          );
          expect(found, JSON.stringify(expected)).toBeDefined();
          if (relation.relationOnDelete === "Cascade") expect(found!.onDelete).toBe("c");
        });
      }
    });
  }

  for (const index of dmmf.datamodel.indexes) {
    const model = models.find((m) => m.name === index.model)!;
    const cols = index.fields.map((f) => columnOf(model, f.name));
    it(`has ${index.type} index on ${tableOf(model)}(${cols.join(", ")})`, () => {
      const found = indexes.find((i) => i.table === tableOf(model) && String(i.columns) === String(cols));
      expect(found, "index exists").toBeDefined();
      if (index.type === "id") expect(found!.primary).toBe(true);
      if (index.type === "unique") expect(found!.unique).toBe(true);
    });
  }

  it("has every enum value", async () => {
    for (const enumType of dmmf.datamodel.enums) {
      const values = await client.query<{ enumlabel: string }>(
        `SELECT e.enumlabel FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid WHERE t.typname = $1 ORDER BY e.enumsortorder`,
        [enumType.name],
      );
      expect(values.rows.map((r) => r.enumlabel)).toEqual(enumType.values.map((v) => v.name));
    }
  });
});
