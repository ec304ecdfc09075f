import { Select } from "~/components/ui/input";
import { Card } from "~/components/ui/card";
import { Button } from "~/components/ui/button";
import { Form } from "@remix-run/react";
import { CsrfInput } from "~/components/csrf-input";
import { FileIcon, FolderIcon } from "~/components/icons";
import { LinkField } from "~/components/shares/link-field";

type FieldErrors = Record<string, string | undefined>;

/** The item chosen with `?item=`: a form to create a public link to it, and the people it is shared with. */
export function ShareItemSection({
  selected,
  access,
  busy,
  createErrors,
  shareErrors,
}: {
  selected: { ref: string; kind: "file" | "folder"; name: string };
  access: Array<{ id: string; permission: string; grantee: { name: string; email: string } }>;
  busy: boolean;
  createErrors: FieldErrors;
  shareErrors: FieldErrors;
}) {
  return (
    <Card as="section" padding="none" className="space-y-6 p-6" aria-labelledby="share-item-heading">
      <h2 id="share-item-heading" className="flex items-center gap-2 text-lg font-semibold break-all">
        {selected.kind === "folder" ? <FolderIcon /> : <FileIcon />}
        Share “{selected.name}”
      </h2>

      <Form method="post" className="grid gap-4 sm:grid-cols-2" aria-labelledby="create-link-heading">
        <CsrfInput />
        <h3 id="create-link-heading" className="font-medium sm:col-span-2">
          Create link
        </h3>
        <input type="hidden" name="intent" value="create-link" />
        <input type="hidden" name="item" value={selected.ref} />
        {selected.kind === "folder" ? (
          <fieldset className="sm:col-span-2">
            <legend className="label">Visitors can</legend>
            <label className="mr-6 inline-flex items-center gap-2 text-sm">
              <input type="radio" name="mode" value="READ" defaultChecked /> View and download
            </label>
            <label className="inline-flex items-center gap-2 text-sm">
              <input type="radio" name="mode" value="DROP" /> Only upload files (file drop, contents stay hidden)
            </label>
            {createErrors.mode ? <p className="field-error">{createErrors.mode}</p> : null}
          </fieldset>
        ) : (
          <input type="hidden" name="mode" value="READ" />
        )}
        <LinkField
          label="Password (optional)"
          name="password"
          type="password"
          autoComplete="new-password"
          error={createErrors.password}
          id="create-password"
        />
        <LinkField
          label="Expires (UTC, optional)"
          name="expiresAt"
          type="datetime-local"
          error={createErrors.expiresAt}
          id="create-expires"
          hint="Leave empty to keep the link until you revoke it."
        />
        <LinkField
          label="Download limit (optional)"
          name="maxDownloads"
          type="number"
          min={1}
          inputMode="numeric"
          error={createErrors.maxDownloads}
          id="create-limit"
          hint="Not used by file drops. A ZIP counts as one download."
        />
        <div className="flex items-end">
          <Button type="submit" variant="primary" disabled={busy}>
            Create link
          </Button>
        </div>
      </Form>

      <div className="space-y-3 border-t border-border pt-6">
        <h3 className="font-medium">People with access</h3>
        {access.length === 0 ? (
          <p className="text-sm text-text-muted">Not shared with anyone yet.</p>
        ) : (
          <ul className="divide-y divide-border text-sm">
            {access.map((share) => (
              <li key={share.id} className="flex flex-wrap items-center justify-between gap-2 py-2">
                <span>
                  {share.grantee.name} <span className="text-text-muted">({share.grantee.email})</span> ·{" "}
                  {share.permission === "WRITE" ? "Can view and add files" : "Can view"}
                </span>
                <Form method="post">
                  <CsrfInput />
                  <input type="hidden" name="intent" value="remove-user-share" />
                  <input type="hidden" name="shareId" value={share.id} />
                  <Button type="submit" variant="secondary" aria-label={`Remove access for ${share.grantee.name}`}>
                    Remove
                  </Button>
                </Form>
              </li>
            ))}
          </ul>
        )}
        <Form method="post" className="flex flex-wrap items-end gap-3">
          <CsrfInput />
          <input type="hidden" name="intent" value="share-user" />
          <input type="hidden" name="item" value={selected.ref} />
          <div className="min-w-64 flex-1">
            <LinkField label="Share with (email)" name="email" type="email" required error={shareErrors.email} id="share-email" />
          </div>
          <div>
            <label htmlFor="share-permission" className="label">
              Permission
            </label>
            <Select id="share-permission" name="permission" defaultValue="READ">
              <option value="READ">Can view</option>
              {selected.kind === "folder" ? <option value="WRITE">Can view and add files</option> : null}
            </Select>
          </div>
          <Button type="submit" variant="secondary" disabled={busy}>
            Share
          </Button>
        </Form>
      </div>
    </Card>
  );
}
