import { Card } from "~/components/ui/card";
import { Form } from "@remix-run/react";
import { CsrfInput } from "~/components/csrf-input";
import { Field } from "~/components/field";
import { Button } from "~/components/ui/button";
import { Label, Textarea } from "~/components/ui/input";

export interface AnnouncementResult {
  ok: boolean;
  message: string;
  fieldErrors?: Record<string, string>;
  title?: string;
  body?: string;
}

/** /admin's announcement: a plain form (title, body) to every active account's notifications. */
export function AnnouncementForm({ result, busy }: { result: AnnouncementResult | null; busy: boolean }) {
  const failed = result && !result.ok ? result : null;
  const bodyError = failed?.fieldErrors?.body;
  return (
    <Card as="section" padding="none" className="space-y-3 p-4" aria-labelledby="announce-heading">
      <h2 id="announce-heading" className="font-semibold">
        Announcement
      </h2>
      <p className="text-sm text-text-muted">Sent at once to the notifications of every active account, and recorded in the audit log.</p>
      <Form method="post" className="max-w-xl space-y-3" aria-labelledby="announce-heading" key={result?.ok ? result.message : "form"}>
        <CsrfInput />
        <input type="hidden" name="intent" value="announce" />
        <Field
          label="Title"
          name="title"
          id="announce-title"
          required
          maxLength={120}
          defaultValue={failed?.title ?? ""}
          error={failed?.fieldErrors?.title}
        />
        <div className="space-y-1">
          <Label htmlFor="announce-body">Message (optional)</Label>
          <Textarea
            id="announce-body"
            name="body"
            rows={3}
            maxLength={2000}
            defaultValue={failed?.body ?? ""}
            aria-invalid={bodyError ? true : undefined}
            aria-describedby={bodyError ? "announce-body-error" : undefined}
          />
          {bodyError ? (
            <p id="announce-body-error" className="field-error">
              {bodyError}
            </p>
          ) : null}
        </div>
        <Button type="submit" disabled={busy}>
          Send to all users
        </Button>
      </Form>
    </Card>
  );
}
