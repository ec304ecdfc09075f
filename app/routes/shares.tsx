import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { auditActor } from "~/domain/audit/audit.server";
import { z } from "zod";
import { FormMessage } from "~/components/field";
import { LinksSection } from "~/components/shares/links-section";
import { ShareItemSection } from "~/components/shares/share-item-section";
import { NotFoundError, ValidationError } from "~/domain/errors";
import { listMyLinks, shareUrl } from "~/domain/sharing/share-link-listing.server";
import { createShareLink, getOwnItem, parseItemRef, revokeShareLink, updateShareLink } from "~/domain/sharing/share-links.server";
import { requireUser } from "~/route-helpers/guards.server";
import { listAccess, removeUserShare, shareWithUser } from "~/domain/sharing/user-shares.server";
import { actionFailure, actionSuccess, loaderFailure } from "~/route-helpers/http.server";
import { field, formValues, parseFormData, readForm, parseQuery } from "~/route-helpers/forms.server";
import { asId } from "~/route-helpers/params.server";

export const meta: MetaFunction = () => [{ title: "My links · Coffer" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { services } = context;
  const user = await requireUser(services, request);
  try {
    const rawItem = parseQuery(request, z.object({ item: field.hint(300) })).item ?? null;
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
        <p className="mt-1 text-sm text-text-muted">Links let anyone with the address open a file or folder, without an account.</p>
      </div>
      <FormMessage message={result?.message} tone={result?.ok ? "success" : "error"} />

      {selected ? (
        <ShareItemSection selected={selected} access={access} busy={busy} createErrors={createErrors} shareErrors={shareErrors} />
      ) : null}

      <LinksSection links={links} busy={busy} />
    </div>
  );
}
