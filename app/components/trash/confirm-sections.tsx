import { Card } from "~/components/ui/card";
import { Button, ButtonLink } from "~/components/ui/button";
import { Form } from "@remix-run/react";
import { CsrfInput } from "~/components/csrf-input";

/** The confirmation step of "Empty trash…" (`?confirm=empty`), a form a browser without JavaScript can send. */
export function ConfirmEmptySection({ count, busy }: { count: number; busy: string | null }) {
  return (
    <Card
      as="section"
      padding="none"
      className="border-danger-border p-4"
      aria-labelledby="confirm-heading"
      aria-describedby="confirm-text"
    >
      <h2 id="confirm-heading" className="text-lg font-semibold">
        Empty the trash?
      </h2>
      <p id="confirm-text" className="mt-2 text-sm text-text">
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
          <Button type="submit" variant="danger" disabled={busy === "empty:"}>
            {busy === "empty:" ? "Deleting…" : "Yes, delete everything for good"}
          </Button>
        </Form>
        <ButtonLink to="/trash" variant="secondary">
          Keep them
        </ButtonLink>
      </div>
    </Card>
  );
}

/** The confirmation step of "Delete forever…" (`?confirm=delete&item=…`). */
export function ConfirmDeleteSection({ item, busy }: { item: { kind: "file" | "folder"; id: string; name: string }; busy: string | null }) {
  return (
    <Card
      as="section"
      padding="none"
      className="border-danger-border p-4"
      aria-labelledby="confirm-delete-heading"
      aria-describedby="confirm-delete-text"
    >
      <h2 id="confirm-delete-heading" className="text-lg font-semibold break-all">
        {`Delete “${item.name}” forever?`}
      </h2>
      <p id="confirm-delete-text" className="mt-2 text-sm text-text">
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
          <Button type="submit" variant="danger" disabled={busy === `delete:${item.id}`}>
            {busy === `delete:${item.id}` ? "Deleting…" : "Yes, delete it for good"}
          </Button>
        </Form>
        <ButtonLink to="/trash" variant="secondary">
          Keep it
        </ButtonLink>
      </div>
    </Card>
  );
}
