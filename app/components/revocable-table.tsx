import { Button } from "~/components/ui/button";
import { Form } from "@remix-run/react";
import type { ReactNode } from "react";
import { CsrfInput } from "~/components/csrf-input";
import { type Column, TableHead } from "~/components/table-head";

/**
 * The table of things a person can revoke (access tokens, everyone's tokens for administrators,
 * login sessions): one row each, the last cell its action. Each column says once whether it hides
 * on narrow screens, so a header and its cells cannot disagree.
 */
export interface RevocableColumn extends Column {
  /** The cells' text colour, e.g. `text-text-muted` for secondary facts. */
  tone?: string;
}

export interface RevocableRow {
  key: string;
  /** One per column, the action last. */
  cells: ReactNode[];
}

const SHOW_FROM = { sm: "sm:table-cell", md: "md:table-cell" } as const;

function cellClass(column: RevocableColumn): string {
  return [column.hideBelow ? "hidden" : "", "px-4 py-2", column.tone ?? "", column.hideBelow ? SHOW_FROM[column.hideBelow] : ""]
    .filter(Boolean)
    .join(" ");
}

export function RevocableTable({ columns, rows }: { columns: RevocableColumn[]; rows: RevocableRow[] }) {
  return (
    <table className="w-full text-left text-sm">
      <TableHead columns={columns} />
      <tbody className="divide-y divide-border">
        {rows.map((row) => (
          <tr key={row.key}>
            {row.cells.map((cell, index) => (
              <td key={columns[index]!.label} className={cellClass(columns[index]!)}>
                {cell}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * The row's action: a post of `intent` naming the row (`name`=`value`), works without JavaScript.
 * `which` completes the button's label for screen readers ("Revoke" of which token).
 */
export function RevokeForm({
  intent,
  name,
  value,
  label,
  which,
  hidden = {},
}: {
  intent: string;
  name: string;
  value: string;
  label: string;
  which: string;
  /** Further fields to post along, e.g. the list's filter to come back to. */
  hidden?: Record<string, string>;
}) {
  return (
    <Form method="post">
      <CsrfInput />
      <input type="hidden" name="intent" value={intent} />
      <input type="hidden" name={name} value={value} />
      {Object.entries(hidden).map(([field, fieldValue]) => (
        <input key={field} type="hidden" name={field} value={fieldValue} />
      ))}
      <Button type="submit" variant="secondary">
        {label}
        <span className="sr-only"> {which}</span>
      </Button>
    </Form>
  );
}
