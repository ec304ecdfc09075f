import { auditActor } from "~/domain/audit/audit.server";
import { getMyLink, listMyLinks, type MyLink, shareUrl } from "~/domain/sharing/share-link-listing.server";
import { changeLinkIfCurrent, changeUserShareIfCurrent } from "~/domain/sharing/share-preconditions.server";
import { createShareLink, getOwnItem, type ItemRef, revokeShareLink, updateShareLink } from "~/domain/sharing/share-links.server";
import {
  getMyUserShare,
  listMyUserShares,
  listSharedWithMe,
  type MyUserShare,
  removeUserShare,
  shareWithUser,
} from "~/domain/sharing/user-shares.server";
import type { Services } from "~/services/index.server";
import type { Principal } from "./principal.server";
import { defineOperation, json, type Operation } from "./operation.server";
import { changeIfEtagMatches } from "./preconditions.server";
import { IdempotencyHeader, IdParams, IfMatchHeader } from "./schemas";
import {
  CreateShareLink,
  CreateUserShare,
  ItemQuery,
  NoQuery,
  SharedWithMeList,
  ShareLink,
  ShareLinkList,
  UpdateShareLink,
  UpdateUserShare,
  UserShare,
  UserShareList,
} from "./schemas-sharing";
import { entityTag } from "./entity-tag.server";

/**
 * Share links and shares with other accounts, through the share page's own domain functions:
 * only the owner of an item shares it, and only the owner of a link or share sees or changes it.
 */

const ETAG_HEADER = { ETag: "The representation's entity tag." };

/** The ETag covers the row's version stamp too: a change sent with If-Match renews it (a claim). */
function withEtag<T extends object>(body: T, version: Date): T & { etag: string } {
  return { ...body, etag: entityTag([body, version.toISOString()]) };
}

function reply(body: { etag: string }, status = 200) {
  return json(body, status, { ETag: body.etag });
}

function representLink(services: Services, request: Request, link: MyLink) {
  return withEtag(
    {
      id: link.id,
      url: shareUrl(services, request, link.token),
      mode: link.mode === "DROP" ? ("upload" as const) : ("read" as const),
      item: link.item,
      hasPassword: link.hasPassword,
      createdAt: link.createdAt.toISOString(),
      expiresAt: link.expiresAt?.toISOString() ?? null,
      expired: link.expired,
      maxDownloads: link.maxDownloads,
      downloadCount: link.downloadCount,
    },
    link.updatedAt,
  );
}

function representShare(share: MyUserShare) {
  return withEtag(
    {
      id: share.id,
      item: share.item,
      grantee: share.grantee,
      permission: share.permission === "WRITE" ? ("write" as const) : ("read" as const),
      createdAt: share.createdAt.toISOString(),
    },
    share.updatedAt,
  );
}

/** The item a list is narrowed to: one of the caller's own (404 otherwise, as on the share page). */
async function ownItemOf(services: Services, principal: Principal, query: { itemKind?: "file" | "folder"; itemId?: string }) {
  if (query.itemKind === undefined || query.itemId === undefined) return null;
  const item: ItemRef = { kind: query.itemKind, id: query.itemId };
  await getOwnItem(services, principal.user, item);
  return item;
}

const toPermission = (permission: "read" | "write") => (permission === "write" ? "WRITE" : "READ");

export const shareLinkOperations: Operation[] = [
  defineOperation({
    operationId: "createShareLink",
    method: "post",
    path: "/share-links",
    tag: "Share links",
    summary: "Create a public link to a file or folder",
    description:
      "As the share page: optionally with a password, an expiry and a download limit, or as an upload-only file drop for a folder. Safe to retry with an Idempotency-Key.",
    scope: "shares",
    headers: IdempotencyHeader,
    idempotent: true,
    body: CreateShareLink,
    responses: { 201: { description: "The new link, with its URL.", schema: ShareLink, headers: ETAG_HEADER } },
    async handler({ services, request, principal, clientIp, body }) {
      const link = await createShareLink(
        services,
        principal.user,
        body.item,
        {
          mode: body.mode === "upload" ? "DROP" : "READ",
          password: body.password,
          expiresAt: body.expiresAt,
          maxDownloads: body.maxDownloads === undefined ? undefined : String(body.maxDownloads),
        },
        auditActor(request, clientIp, principal.user),
      );
      return reply(representLink(services, request, await getMyLink(services, principal.user, link.id)), 201);
    },
  }),
  defineOperation({
    operationId: "listShareLinks",
    method: "get",
    path: "/share-links",
    tag: "Share links",
    summary: "List your share links",
    description: "Every link you created, newest first, including expired ones; or only those of one of your items.",
    scope: "shares",
    query: ItemQuery,
    responses: { 200: { description: "Your links.", schema: ShareLinkList } },
    async handler({ services, request, principal, query }) {
      const links = await listMyLinks(services, principal.user, await ownItemOf(services, principal, query));
      return json({ items: links.map((link) => representLink(services, request, link)) });
    },
  }),
  defineOperation({
    operationId: "getShareLink",
    method: "get",
    path: "/share-links/{id}",
    tag: "Share links",
    summary: "Get one of your share links",
    description: "The link and its ETag; another user's link is not found.",
    scope: "shares",
    params: IdParams,
    responses: { 200: { description: "The link.", schema: ShareLink, headers: ETAG_HEADER } },
    async handler({ services, request, principal, params }) {
      return reply(representLink(services, request, await getMyLink(services, principal.user, params.id)));
    },
  }),
  defineOperation({
    operationId: "updateShareLink",
    method: "patch",
    path: "/share-links/{id}",
    tag: "Share links",
    summary: "Change a share link's password, expiry or download limit",
    description: "Fields left out keep their value; null removes one. Send If-Match to refuse a lost update.",
    scope: "shares",
    params: IdParams,
    headers: IfMatchHeader,
    body: UpdateShareLink,
    problems: [412],
    responses: { 200: { description: "The link after the change.", schema: ShareLink, headers: ETAG_HEADER } },
    async handler({ services, request, principal, clientIp, params, body }) {
      // The domain reads the page's form: a field it is not given keeps its value.
      const input: Record<string, string | undefined> = {};
      if (body.password === null) input.clearPassword = "true";
      else if (body.password !== undefined) input.password = body.password;
      if (body.expiresAt !== undefined) input.expiresAt = body.expiresAt ?? undefined;
      if (body.maxDownloads !== undefined) input.maxDownloads = body.maxDownloads === null ? undefined : String(body.maxDownloads);
      await changeIfEtagMatches(
        request,
        (link: MyLink) => representLink(services, request, link),
        (isCurrent, change) => changeLinkIfCurrent(services, principal.user, params.id, isCurrent, change),
        () => updateShareLink(services, principal.user, params.id, input, auditActor(request, clientIp, principal.user)),
      );
      return reply(representLink(services, request, await getMyLink(services, principal.user, params.id)));
    },
  }),
  defineOperation({
    operationId: "revokeShareLink",
    method: "delete",
    path: "/share-links/{id}",
    tag: "Share links",
    summary: "Revoke a share link",
    description: "The link stops opening at once. Send If-Match to refuse revoking a link that changed since you read it.",
    scope: "shares",
    params: IdParams,
    headers: IfMatchHeader,
    problems: [412],
    responses: { 204: { description: "Revoked." } },
    async handler({ services, request, principal, clientIp, params }) {
      await changeIfEtagMatches(
        request,
        (link: MyLink) => representLink(services, request, link),
        (isCurrent, change) => changeLinkIfCurrent(services, principal.user, params.id, isCurrent, change),
        () => revokeShareLink(services, principal.user, params.id, auditActor(request, clientIp, principal.user)),
      );
      return new Response(null, { status: 204 });
    },
  }),
];

export const userShareOperations: Operation[] = [
  defineOperation({
    operationId: "createUserShare",
    method: "post",
    path: "/user-shares",
    tag: "User shares",
    summary: "Share a file or folder with another account",
    description:
      "By the account's email address, as on the share page. Sharing the same item with the same person again changes their permission. Safe to retry with an Idempotency-Key.",
    scope: "shares",
    headers: IdempotencyHeader,
    idempotent: true,
    body: CreateUserShare,
    responses: { 201: { description: "The share.", schema: UserShare, headers: ETAG_HEADER } },
    async handler({ services, request, principal, clientIp, body }) {
      const { share } = await shareWithUser(
        services,
        principal.user,
        body.item,
        { email: body.email, permission: toPermission(body.permission) },
        auditActor(request, clientIp, principal.user),
      );
      return reply(representShare(await getMyUserShare(services, principal.user, share.id)), 201);
    },
  }),
  defineOperation({
    operationId: "listUserShares",
    method: "get",
    path: "/user-shares",
    tag: "User shares",
    summary: "List what you shared with other accounts",
    description: "Every share you made, newest first; or only those of one of your items (who has access to it).",
    scope: "shares",
    query: ItemQuery,
    responses: { 200: { description: "Your shares.", schema: UserShareList } },
    async handler({ services, principal, query }) {
      const item = await ownItemOf(services, principal, query);
      const shares = (await listMyUserShares(services, principal.user)).filter(
        (share) => item === null || (share.item.kind === item.kind && share.item.id === item.id),
      );
      return json({ items: shares.map(representShare) });
    },
  }),
  defineOperation({
    operationId: "getUserShare",
    method: "get",
    path: "/user-shares/{id}",
    tag: "User shares",
    summary: "Get one of your shares",
    description: "The share and its ETag; another user's share is not found.",
    scope: "shares",
    params: IdParams,
    responses: { 200: { description: "The share.", schema: UserShare, headers: ETAG_HEADER } },
    async handler({ services, principal, params }) {
      return reply(representShare(await getMyUserShare(services, principal.user, params.id)));
    },
  }),
  defineOperation({
    operationId: "updateUserShare",
    method: "patch",
    path: "/user-shares/{id}",
    tag: "User shares",
    summary: "Change what the other account may do",
    description: "Send If-Match to refuse a lost update.",
    scope: "shares",
    params: IdParams,
    headers: IfMatchHeader,
    body: UpdateUserShare,
    problems: [412],
    responses: { 200: { description: "The share after the change.", schema: UserShare, headers: ETAG_HEADER } },
    async handler({ services, request, principal, clientIp, params, body }) {
      const current = await getMyUserShare(services, principal.user, params.id);
      await changeIfEtagMatches(
        request,
        representShare,
        (isCurrent, change) => changeUserShareIfCurrent(services, principal.user, params.id, isCurrent, change),
        () =>
          shareWithUser(
            services,
            principal.user,
            current.item,
            { email: current.grantee.email, permission: toPermission(body.permission) },
            auditActor(request, clientIp, principal.user),
          ),
      );
      return reply(representShare(await getMyUserShare(services, principal.user, params.id)));
    },
  }),
  defineOperation({
    operationId: "removeUserShare",
    method: "delete",
    path: "/user-shares/{id}",
    tag: "User shares",
    summary: "Stop sharing with that account",
    description: "Their access ends at once. Send If-Match to refuse removing a share that changed since you read it.",
    scope: "shares",
    params: IdParams,
    headers: IfMatchHeader,
    problems: [412],
    responses: { 204: { description: "Removed." } },
    async handler({ services, request, principal, clientIp, params }) {
      await changeIfEtagMatches(
        request,
        representShare,
        (isCurrent, change) => changeUserShareIfCurrent(services, principal.user, params.id, isCurrent, change),
        () => removeUserShare(services, principal.user, params.id, auditActor(request, clientIp, principal.user)),
      );
      return new Response(null, { status: 204 });
    },
  }),
  defineOperation({
    operationId: "listSharedWithMe",
    method: "get",
    path: "/shared-with-me",
    tag: "User shares",
    summary: "List what other accounts shared with you",
    description: "Open the items through the files API; what you may do follows the permission.",
    scope: "shares",
    query: NoQuery,
    responses: { 200: { description: "Items shared with you, newest first.", schema: SharedWithMeList } },
    async handler({ services, principal }) {
      const items = await listSharedWithMe(services, principal.user);
      return json({
        items: items.map((item) => ({
          id: item.id,
          item: { kind: item.kind, id: item.itemId, name: item.name, size: item.size, mimeType: item.mimeType },
          permission: item.permission === "WRITE" ? "write" : "read",
          owner: item.owner,
          sharedAt: item.sharedAt.toISOString(),
        })),
      });
    },
  }),
];
