export interface Column {
  label: string;
  /** Hide the column below a breakpoint on narrow screens. */
  hideBelow?: "sm" | "md";
  align?: "right";
}

const HIDE = { sm: "hidden sm:table-cell", md: "hidden md:table-cell" } as const;

/** The header row shared by Coffer's item tables. */
export function TableHead({ columns }: { columns: Column[] }) {
  return (
    <thead className="border-b border-border bg-surface text-text-muted">
      <tr>
        {columns.map((column) => (
          <th
            key={column.label}
            scope="col"
            className={[
              "px-4 py-2 font-medium",
              column.hideBelow ? HIDE[column.hideBelow] : "",
              column.align === "right" ? "text-right" : "",
            ]
              .filter(Boolean)
              .join(" ")}
          >
            {column.label}
          </th>
        ))}
      </tr>
    </thead>
  );
}
