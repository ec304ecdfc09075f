/**
 * Which statements of a migration would break the previous release, read from PostgreSQL's own
 * parser (libpg-query, the server's grammar compiled to WebAssembly) rather than from regexes, so
 * quoting, comments and multi-command ALTERs cannot hide a change.
 */
import { parse } from "libpg-query";

export interface DestructiveChange {
  /** The statement's text, trimmed. */
  statement: string;
  /** Why the previous release may fail on it. */
  reason: string;
}

/**
 * Tables, indexes and types created by the migrations being checked: the previous release never
 * used them, so changing or dropping them again is harmless.
 */
export interface NewObjects {
  tables: Set<string>;
  indexes: Set<string>;
  types: Set<string>;
}

export function emptyNewObjects(): NewObjects {
  return { tables: new Set(), indexes: new Set(), types: new Set() };
}

// biome-ignore lint/suspicious/noExplicitAny: libpg-query's JSON tree, read by node type
type Node = any;

/** Finds the destructive statements of `sql`, and records in `created` what it creates. */
export async function findDestructiveChanges(sql: string, created: NewObjects): Promise<DestructiveChange[]> {
  const tree = await parse(sql);
  const changes: DestructiveChange[] = [];
  // The parser's locations count bytes of UTF-8, not characters.
  const bytes = Buffer.from(sql);
  for (const raw of tree.stmts ?? []) {
    const start = raw.stmt_location ?? 0;
    const text = bytes.subarray(start, raw.stmt_len ? start + raw.stmt_len : undefined).toString();
    const statement = text.replace(/^(\s*--[^\n]*\n)+/, "").trim();
    for (const reason of reasons(raw.stmt, created)) changes.push({ statement, reason });
  }
  return changes;
}

function reasons(stmt: Node, created: NewObjects): string[] {
  const [kind] = Object.keys(stmt);
  const node = stmt[kind];
  switch (kind) {
    case "CreateStmt":
      created.tables.add(node.relation.relname);
      return [];
    case "IndexStmt":
      if (node.idxname) created.indexes.add(node.idxname);
      return node.unique && !created.tables.has(node.relation.relname)
        ? ["a new UNIQUE index on an existing table: the previous release may write rows it rejects"]
        : [];
    case "CreateEnumStmt":
      created.types.add(lastName(node.typeName));
      return [];
    case "AlterTableStmt":
      return created.tables.has(node.relation?.relname)
        ? []
        : (node.cmds ?? []).flatMap((cmd: Node) => alterTableReasons(cmd.AlterTableCmd));
    case "DropStmt":
      return dropReasons(node, created);
    case "RenameStmt":
      return renameIsOfNewObject(node, created)
        ? []
        : [`RENAME (${objectType(node.renameType)}): the previous release still uses the old name`];
    case "AlterEnumStmt":
      return node.oldVal ? ["RENAME VALUE of an enum: the previous release reads and writes the old value"] : [];
    case "AlterObjectSchemaStmt":
      return ["SET SCHEMA: the previous release looks for the object where it was"];
    case "TruncateStmt":
      return ["TRUNCATE deletes data the previous release reads"];
    case "DeleteStmt":
      return created.tables.has(node.relation?.relname) ? [] : ["DELETE of existing rows: data the previous release reads is gone"];
    case "DoStmt":
      return ["a DO block cannot be checked statement by statement: write its statements as plain SQL"];
    default:
      return [];
  }
}

function alterTableReasons(cmd: Node): string[] {
  switch (cmd.subtype) {
    case "AT_DropColumn":
      return [`DROP COLUMN ${cmd.name}: the previous release reads and writes it`];
    case "AT_AlterColumnType":
      return [`ALTER COLUMN ${cmd.name} TYPE: the previous release reads and writes the old type`];
    case "AT_SetNotNull":
      return [`SET NOT NULL on ${cmd.name}: the previous release may write NULL there`];
    case "AT_ColumnDefault":
      return cmd.def ? [] : [`DROP DEFAULT on ${cmd.name}: the previous release may insert rows relying on it`];
    case "AT_AddColumn":
      return requiredWithoutDefault(cmd.def.ColumnDef)
        ? [`ADD COLUMN ${cmd.def.ColumnDef.colname} NOT NULL without a DEFAULT: the previous release's inserts do not set it`]
        : [];
    case "AT_AddConstraint": {
      const constraint = cmd.def.Constraint;
      const type = String(constraint.contype).replace("CONSTR_", "");
      return ["UNIQUE", "PRIMARY", "CHECK", "FOREIGN", "EXCLUSION"].includes(type)
        ? [`ADD CONSTRAINT (${type}) on an existing table: the previous release may write rows it rejects`]
        : [];
    }
    case "AT_DropConstraint":
      return [`DROP CONSTRAINT ${cmd.name}: the previous release may rely on it (ON CONFLICT, cascades)`];
    case "AT_DropIdentity":
    case "AT_DropExpression":
      return [`${cmd.subtype.replace("AT_", "")} on ${cmd.name}: the previous release's inserts rely on it`];
    default:
      return [];
  }
}

function requiredWithoutDefault(column: Node): boolean {
  const types: string[] = (column.constraints ?? []).map((c: Node) => c.Constraint.contype);
  const generated = types.includes("CONSTR_IDENTITY") || types.includes("CONSTR_GENERATED");
  const serial = /serial$/i.test(lastName(column.typeName.names));
  return (
    (types.includes("CONSTR_NOTNULL") || types.includes("CONSTR_PRIMARY")) && !types.includes("CONSTR_DEFAULT") && !generated && !serial
  );
}

function dropReasons(node: Node, created: NewObjects): string[] {
  const type = objectType(node.removeType);
  const names: string[] = (node.objects ?? []).map((object: Node) => lastName(object.List?.items ?? object.TypeName?.names ?? [object]));
  const pool = { TABLE: created.tables, INDEX: created.indexes, TYPE: created.types }[type];
  const existing = names.filter((name) => !pool?.has(name));
  return existing.length === 0 ? [] : [`DROP ${type} ${existing.join(", ")}: the previous release may use it`];
}

function renameIsOfNewObject(node: Node, created: NewObjects): boolean {
  const type = objectType(node.renameType);
  if (type === "TABLE" || type === "COLUMN" || type === "TABCONSTRAINT") return created.tables.has(node.relation?.relname);
  if (type === "INDEX") return created.indexes.has(node.relation?.relname);
  return false;
}

function objectType(value: string): string {
  return String(value).replace("OBJECT_", "");
}

/** The last part of a possibly schema-qualified name, in whichever node shape the parser gives it. */
function lastName(parts: Node[] | Node): string {
  const list = Array.isArray(parts) ? parts : [parts];
  const last = list[list.length - 1];
  return last?.String?.sval ?? last?.sval ?? String(last);
}
