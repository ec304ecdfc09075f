import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { auditActor } from "~/domain/audit/audit.server";
import { z } from "zod";
import { FormMessage } from "~/components/field";
import { FileIcon, FolderIcon } from "~/components/icons";
import { NotFoundError, ValidationError } from "~/domain/errors";
import { listMyLinks, shareUrl } from "~/domain/sharing/share-link-listing.server";
import { createShareLink, getOwnItem, parseItemRef, revokeShareLink, updateShareLink } from "~/domain/sharing/share-links.server";
import { requireUser } from "~/domain/accounts/sessions.server";
import { listAccess, removeUserShare, shareWithUser } from "~/domain/sharing/user-shares.server";
import { formatDate } from "~/lib/format";
import { actionFailure, actionSuccess, loaderFailure } from "~/route-helpers/http.server";
import { field, formValues, parseFormData, readForm } from "~/route-helpers/forms.server";
import { asId } from "~/route-helpers/params.server";
import { CsrfInput } from "~/components/csrf-input";

export const meta: MetaFunction = () => [{ title: "My links · Coffer" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { services } = context;
  const user = await requireUser(services, request);
  try {
    const rawItem = new URL(request.url).searchParams.get("item");
    let selected: { ref: string; kind: "file" | "folder"; id: string; name: string; folderId: string | null } | null = null;
    let access: Awaited<ReturnType<typeof listAccess>> = [];
    if (rawItem) {
      const ref = parseItemRef(rawItem);
      if (!ref) throw new NotFoundError("That item");
      const item = await getOwnItem(services, user, ref);
      selected =
        item.kind === "file"
          ? { ref: rawItem, kind: "file", id: item.file.id, name: item.file.name, folderId: item.file.folderId }
          : { ref: rawItem, kind: "folder", id: item.folder.id, name: item.folder.name, folderId: item.folder.id };
      access = await listAccess(services, user, ref);
    }
    const links = (await listMyLinks(services, user)).map((link) => ({ ...link, url: shareUrl(services, request, link.token) }));
    return { selected, access, links, now: new Date().toISOString() };
  } catch (error) {
    loaderFailure(error);
  }
}

const sharesForm = z.object({
  intent: field.oneOf(["create-link", "update-link", "revoke-link", "share-user", "remove-user-share"]),
  item: field.text(),
  linkId: field.text(),
  shareId: field.text(),
  email: field.text(1_000),
  permission: field.optionalText(),
  mode: field.optionalText(),
  password: field.optionalText(1_000),
  clearPassword: field.optionalText(),
  expiresAt: field.optionalText(),
  maxDownloads: field.optionalText(),
});

export async function action({ request, context }: ActionFunctionArgs) {
  const { services } = context;
  const user = await requireUser(services, request);
  const audit = auditActor(request, context.clientIp, user);
  // Which of the page's forms was sent, to show its errors next to it.
  let intent = "";
  try {
    const form = await readForm(request);
    const sent = formValues(form).intent;
    intent = typeof sent === "string" ? sent : "";
    const fields = parseFormData(form, sharesForm);
    switch (fields.intent) {
      case "create-link": {
        const ref = parseItemRef(fields.item);
        if (!ref) throw new ValidationError("Choose a file or folder to share.");
        const link = await createShareLink(
          services,
          user,
          ref,
          {
            mode: fields.mode || undefined,
            password: fields.password,
            expiresAt: fields.expiresAt,
            maxDownloads: fields.maxDownloads,
          },
          audit,
        );
        const url = shareUrl(services, request, link.token);
        return actionSuccess(`Link created: ${url}`, { url });
      }
      case "update-link": {
        await updateShareLink(
          services,
          user,
          asId(fields.linkId, "That link"),
          {
            password: fields.password,
            clearPassword: fields.clearPassword,
            expiresAt: fields.expiresAt,
            maxDownloads: fields.maxDownloads,
          },
          audit,
        );
        return actionSuccess("Link updated.");
      }
      case "revoke-link": {
        await revokeShareLink(services, user, asId(fields.linkId, "That link"), audit);
        return actionSuccess("Link revoked. It no longer opens.");
      }
      case "share-user": {
        const ref = parseItemRef(fields.item);
        if (!ref) throw new ValidationError("Choose a file or folder to share.");
        const { grantee, share } = await shareWithUser(
          services,
          user,
          ref,
          { email: fields.email, permission: fields.permission || undefined },
          audit,
        );
        return actionSuccess(`Shared with ${grantee.name} (${share.permission === "WRITE" ? "can view and add files" : "can view"}).`);
      }
      case "remove-user-share": {
        await removeUserShare(services, user, asId(fields.shareId, "That share"), audit);
        return actionSuccess("Access removed.");
      }
    }
  } catch (error) {
    return actionFailure(error, { form: intent });
  }
}

function toInputValue(value: string | Date | null): string {
  if (!value) return "";
  return new Date(value).toISOString().slice(0, 16);
}

export default function Shares() {
  const { selected, access, links } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const busy = useNavigation().state === "submitting";
  const errors = result && !result.ok ? result.fieldErrors : {};
  const createErrors = result && !result.ok && result.form === "create-link" ? errors : {};
  const shareErrors = result && !result.ok && result.form === "share-user" ? errors : {};

  return (
    <div className="space-y-8">
      <div>
        <h1 className="text-2xl font-semibold">My links</h1>
        <p className="mt-1 text-sm text-slate-600">Links let anyone with the address open a file or folder, without an account.</p>
      </div>
      <FormMessage message={result?.message} tone={result?.ok ? "success" : "error"} />

      {selected ? (
        <section aria-labelledby="share-item-heading" className="card space-y-6 p-6">
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
              <button type="submit" className="btn-primary" disabled={busy}>
                Create link
              </button>
            </div>
          </Form>

          <div className="space-y-3 border-t border-slate-200 pt-6">
            <h3 className="font-medium">People with access</h3>
            {access.length === 0 ? (
              <p className="text-sm text-slate-600">Not shared with anyone yet.</p>
            ) : (
              <ul className="divide-y divide-slate-100 text-sm">
                {access.map((share) => (
                  <li key={share.id} className="flex flex-wrap items-center justify-between gap-2 py-2">
                    <span>
                      {share.grantee.name} <span className="text-slate-600">({share.grantee.email})</span> ·{" "}
                      {share.permission === "WRITE" ? "Can view and add files" : "Can view"}
                    </span>
                    <Form method="post">
                      <CsrfInput />
                      <input type="hidden" name="intent" value="remove-user-share" />
                      <input type="hidden" name="shareId" value={share.id} />
                      <button type="submit" className="btn-secondary" aria-label={`Remove access for ${share.grantee.name}`}>
                        Remove
                      </button>
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
                <select id="share-permission" name="permission" className="input" defaultValue="READ">
                  <option value="READ">Can view</option>
                  {selected.kind === "folder" ? <option value="WRITE">Can view and add files</option> : null}
                </select>
              </div>
              <button type="submit" className="btn-secondary" disabled={busy}>
                Share
              </button>
            </Form>
          </div>
        </section>
      ) : null}

      <section aria-labelledby="links-heading" className="space-y-3">
        <h2 id="links-heading" className="text-lg font-semibold">
          All my links
        </h2>
        {links.length === 0 ? (
          <div className="card p-8 text-center">
            <p className="font-medium">You have not shared any links yet.</p>
            <p className="mt-1 text-sm text-slate-600">
              Open a file’s details or a folder in{" "}
              <Link to="/files" className="text-blue-800 underline">
                My files
              </Link>{" "}
              and choose “Share”, or open <code>/shares?item=folder:&lt;id&gt;</code>. You can protect a link with a password, make it
              expire, limit its downloads, or turn a folder into a file drop that only accepts uploads.
            </p>
          </div>
        ) : (
          <ul className="space-y-4">
            {links.map((link) => (
              <li key={link.id} className="card space-y-3 p-4 text-sm">
                <div className="flex flex-wrap items-center justify-between gap-2">
                  <p className="flex items-center gap-2 font-medium break-all">
                    {link.item.kind === "folder" ? <FolderIcon /> : <FileIcon />}
                    {link.item.name}
                    {link.item.inTrash ? <span className="text-red-700">(in the trash: the link does not open)</span> : null}
                  </p>
                  <Link to={`/shares?item=${link.item.kind}:${link.item.id}`} className="text-blue-800 hover:underline">
                    Share settings
                  </Link>
                </div>
                <div>
                  <label htmlFor={`url-${link.id}`} className="label">
                    Link address
                  </label>
                  <input
                    id={`url-${link.id}`}
                    readOnly
                    value={link.url}
                    className="input font-mono"
                    onFocus={(e) => e.currentTarget.select()}
                  />
                </div>
                <dl className="grid grid-cols-2 gap-x-4 gap-y-1 sm:grid-cols-5">
                  <div>
                    <dt className="text-slate-600">Mode</dt>
                    <dd>{link.mode === "DROP" ? "File drop" : "View and download"}</dd>
                  </div>
                  <div>
                    <dt className="text-slate-600">Created</dt>
                    <dd>{formatDate(link.createdAt)}</dd>
                  </div>
                  <div>
                    <dt className="text-slate-600">Expires</dt>
                    <dd>{link.expiresAt ? `${formatDate(link.expiresAt)}${link.expired ? " (expired)" : ""}` : "Never"}</dd>
                  </div>
                  <div>
                    <dt className="text-slate-600">Downloads</dt>
                    <dd>
                      {link.downloadCount} / {link.maxDownloads ?? "no limit"}
                    </dd>
                  </div>
                  <div>
                    <dt className="text-slate-600">Password</dt>
                    <dd>{link.hasPassword ? "Yes" : "No"}</dd>
                  </div>
                </dl>
                <details>
                  <summary className="cursor-pointer text-blue-800">Edit or revoke</summary>
                  <Form method="post" className="mt-3 grid gap-3 sm:grid-cols-2">
                    <CsrfInput />
                    <input type="hidden" name="intent" value="update-link" />
                    <input type="hidden" name="linkId" value={link.id} />
                    <LinkField
                      label={link.hasPassword ? "New password (empty keeps the current one)" : "Password (optional)"}
                      name="password"
                      type="password"
                      autoComplete="new-password"
                      id={`password-${link.id}`}
                    />
                    {link.hasPassword ? (
                      <label className="inline-flex items-center gap-2 self-end text-sm">
                        <input type="checkbox" name="clearPassword" value="on" /> Remove the password
                      </label>
                    ) : (
                      <span />
                    )}
                    <LinkField
                      label="Expires (UTC, empty: never)"
                      name="expiresAt"
                      type="datetime-local"
                      defaultValue={toInputValue(link.expiresAt)}
                      id={`expires-${link.id}`}
                    />
                    {link.mode === "READ" ? (
                      <LinkField
                        label="Download limit (empty: none)"
                        name="maxDownloads"
                        type="number"
                        min={1}
                        defaultValue={link.maxDownloads ?? ""}
                        id={`limit-${link.id}`}
                      />
                    ) : (
                      <span />
                    )}
                    <div>
                      <button type="submit" className="btn-primary" disabled={busy}>
                        Save changes
                      </button>
                    </div>
                  </Form>
                  <Form method="post" className="mt-3">
                    <CsrfInput />
                    <input type="hidden" name="intent" value="revoke-link" />
                    <input type="hidden" name="linkId" value={link.id} />
                    <button type="submit" className="btn-secondary text-red-800" disabled={busy}>
                      Revoke link
                    </button>
                  </Form>
                </details>
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}

function LinkField({
  label,
  name,
  id,
  error,
  hint,
  ...input
}: { label: string; name: string; id: string; error?: string; hint?: string } & React.InputHTMLAttributes<HTMLInputElement>) {
  const described = [error ? `${id}-error` : null, hint ? `${id}-hint` : null].filter(Boolean).join(" ") || undefined;
  return (
    <div>
      <label htmlFor={id} className="label">
        {label}
      </label>
      <input id={id} name={name} className="input" aria-invalid={error ? true : undefined} aria-describedby={described} {...input} />
      {hint ? (
        <p id={`${id}-hint`} className="mt-1 text-sm text-slate-600">
          {hint}
        </p>
      ) : null}
      {error ? (
        <p id={`${id}-error`} className="field-error">
          {error}
        </p>
      ) : null}
    </div>
  );
}
