import { Form, Link } from "@remix-run/react";
import { CsrfInput } from "~/components/csrf-input";

/** The confirmation step of "Empty trash…" (`?confirm=empty`), a form a browser without JavaScript can send. */
export function ConfirmEmptySection({ count, busy }: { count: number; busy: string | null }) {
  return (
    <section aria-labelledby="confirm-heading" className="card border-red-300 p-4" aria-describedby="confirm-text">
      <h2 id="confirm-heading" className="text-lg font-semibold">
        Empty the trash?
      </h2>
      <p id="confirm-text" className="mt-2 text-sm text-slate-700">
        {count === 1
          ? "The item in the trash, with everything inside it and all its versions, will be deleted for good."
          : `All ${count} items in the trash, with everything inside them and all their versions, will be deleted for good.`}{" "}
        This cannot be undone.
      </p>
      <div className="mt-3 flex gap-2">
        <Form method="post">
          <CsrfInput />
          <input type="hidden" name="intent" value="empty" />
          <input type="hidden" name="confirmed" value="yes" />
          <button type="submit" className="btn-primary bg-red-700 hover:bg-red-800" disabled={busy === "empty:"}>
            {busy === "empty:" ? "Deleting…" : "Yes, delete everything for good"}
          </button>
        </Form>
        <Link to="/trash" className="btn-secondary">
          Keep them
        </Link>
      </div>
    </section>
  );
}

/** The confirmation step of "Delete forever…" (`?confirm=delete&item=…`). */
export function ConfirmDeleteSection({ item, busy }: { item: { kind: "file" | "folder"; id: string; name: string }; busy: string | null }) {
  return (
    <section aria-labelledby="confirm-delete-heading" className="card border-red-300 p-4" aria-describedby="confirm-delete-text">
      <h2 id="confirm-delete-heading" className="text-lg font-semibold break-all">
        {`Delete “${item.name}” forever?`}
      </h2>
      <p id="confirm-delete-text" className="mt-2 text-sm text-slate-700">
        {item.kind === "folder"
          ? "This folder, with everything inside it and all versions of its files, will be deleted for good."
          : "This file and all its earlier versions will be deleted for good."}{" "}
        This cannot be undone.
      </p>
      <div className="mt-3 flex gap-2">
        <Form method="post">
          <CsrfInput />
          <input type="hidden" name="intent" value="delete" />
          <input type="hidden" name="kind" value={item.kind} />
          <input type="hidden" name="id" value={item.id} />
          <input type="hidden" name="confirmed" value="yes" />
          <button type="submit" className="btn-primary bg-red-700 hover:bg-red-800" disabled={busy === `delete:${item.id}`}>
            {busy === `delete:${item.id}` ? "Deleting…" : "Yes, delete it for good"}
          </button>
        </Form>
        <Link to="/trash" className="btn-secondary">
          Keep it
        </Link>
      </div>
    </section>
  );
}
