import { z } from "zod";
import { auditActor } from "~/domain/audit/audit.server";
import { isAppError } from "~/domain/errors";
import {
  type AdminTokenSummary,
  createToken,
  decodeTokenCursor,
  getToken,
  listTokens,
  pageAllTokens,
  revokeToken,
  type TokenSummary,
} from "~/domain/tokens/tokens.server";
import type { Services } from "~/services/index.server";
import { badCursor } from "./me.server";
import { defineOperation, json, type Operation } from "./operation.server";
import { ApiProblem } from "./problem.server";
import { IdempotencyHeader } from "./schemas";
import { AdminTokenPage, AdminTokenQuery, CreatedToken, CreateToken, Token, TokenList, TokenParams } from "./schemas-tokens";
import { entityTag } from "./entity-tag.server";

/**
 * Personal access tokens, through the tokens pages' own domain functions (which audit each
 * creation and revocation). Your own are managed with the browser session only (`session`): a
 * token that could mint tokens could mint a stronger one, or one outliving it. Everyone's are
 * listed and revoked as on /admin/tokens, with the `admin` scope of an administrator.
 */

const NoParams = z.strictObject({});
const DAY_MS = 24 * 3600 * 1000;
const MY_TOKENS_PATH = "/api/v1/me/tokens";
const ETAG_HEADER = { ETag: "The representation's entity tag." };

function representToken(token: TokenSummary) {
  const body = {
    id: token.id,
    name: token.name,
    scopes: token.scopes,
    createdAt: token.createdAt.toISOString(),
    expiresAt: token.expiresAt?.toISOString() ?? null,
    expired: token.expired,
    lastUsedAt: token.lastUsedAt?.toISOString() ?? null,
    lastUsedIp: token.lastUsedIp,
  };
  return { ...body, etag: entityTag(body) };
}

function representAdminToken(token: AdminTokenSummary) {
  return { ...representToken(token), user: token.user };
}

/** The create's expiry as the domain takes it; expiresInDays counts from now, as the page's choices do. */
function expiryOf(body: z.infer<typeof CreateToken>): Date | null {
  if (body.expiresAt !== undefined) return new Date(body.expiresAt);
  if (body.expiresInDays !== undefined) return new Date(Date.now() + body.expiresInDays * DAY_MS);
  return null;
}

/** The domain names the expiry `expiresAt`; a refusal of `expiresInDays` points at what was sent. */
async function creating<T>(body: z.infer<typeof CreateToken>, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (isAppError(error) && error.status === 400 && body.expiresInDays !== undefined && error.fieldErrors.expiresAt) {
      const { expiresAt, ...rest } = error.fieldErrors;
      const errors = [
        ...Object.entries(rest).map(([name, detail]) => ({ pointer: `/body/${name}`, detail })),
        { pointer: "/body/expiresInDays", detail: expiresAt },
      ];
      throw new ApiProblem(422, error.message, errors);
    }
    throw error;
  }
}

export const myTokenOperations: Operation[] = [
  defineOperation({
    operationId: "listMyTokens",
    method: "get",
    path: "/me/tokens",
    tag: "Tokens",
    summary: "List your access tokens",
    description:
      "Your tokens that are not revoked, newest first, as /settings/tokens lists them: name, scopes, expiry, last use and its address. Never a secret.",
    scope: "session",
    params: NoParams,
    responses: { 200: { description: "Your tokens.", schema: TokenList } },
    async handler({ services, principal }) {
      const tokens = await listTokens(services, principal.user);
      return json({ items: tokens.map(representToken) });
    },
  }),
  defineOperation({
    operationId: "createMyToken",
    method: "post",
    path: "/me/tokens",
    tag: "Tokens",
    summary: "Create an access token",
    description:
      "As on /settings/tokens: a name, scopes (`admin` for administrators only) and an expiry (`expiresAt`, or `expiresInDays`; neither: it never expires), within the administrator's rules. The answer holds the secret, this once. Safe to retry with an Idempotency-Key; a replay answers the same token with `secret` null.",
    scope: "session",
    params: NoParams,
    headers: IdempotencyHeader,
    idempotent: true,
    unreplayed: ["secret"],
    body: CreateToken,
    responses: {
      201: {
        description: "The new token, with its secret.",
        schema: CreatedToken,
        headers: { Location: "The token's URL.", ...ETAG_HEADER },
      },
    },
    async handler({ services, principal, body, request, clientIp }) {
      const actor = auditActor(request, clientIp, principal.user);
      const { secret, token } = await creating(body, () =>
        createToken(services, principal.user, { name: body.name, scopes: body.scopes, expiresAt: expiryOf(body) }, actor),
      );
      const created = representToken(token);
      return json({ ...created, secret }, 201, { Location: `${MY_TOKENS_PATH}/${token.id}`, ETag: created.etag });
    },
  }),
  defineOperation({
    operationId: "getMyToken",
    method: "get",
    path: "/me/tokens/{tokenId}",
    tag: "Tokens",
    summary: "Get one of your access tokens",
    description: "The token (never its secret). Another account's token, or a revoked one, is not found.",
    scope: "session",
    params: TokenParams,
    responses: { 200: { description: "The token.", schema: Token, headers: ETAG_HEADER } },
    async handler({ services, principal, params }) {
      const token = representToken(await getToken(services, principal.user, params.tokenId));
      return json(token, 200, { ETag: token.etag });
    },
  }),
  defineOperation({
    operationId: "revokeMyToken",
    method: "delete",
    path: "/me/tokens/{tokenId}",
    tag: "Tokens",
    summary: "Revoke one of your access tokens",
    description: "It stops working at once, on the API and on uploads. Audited. Another account's token is not found.",
    scope: "session",
    params: TokenParams,
    responses: { 204: { description: "Revoked." } },
    async handler({ services, principal, params, request, clientIp }) {
      // Your own only, even for an administrator: as on /settings/tokens.
      const self = { id: principal.user.id, role: "USER" as const };
      await revokeToken(services, self, params.tokenId, auditActor(request, clientIp, principal.user));
      return new Response(null, { status: 204 });
    },
  }),
];

export const adminTokenOperations: Operation[] = [
  defineOperation({
    operationId: "listTokens",
    method: "get",
    path: "/admin/tokens",
    tag: "Tokens",
    summary: "List everyone's access tokens",
    description:
      "Every token that is not revoked, newest first, with its owner; optionally only one account's (`userId`) or those of accounts whose email contains `email`. Paged with a cursor.",
    scope: "admin",
    params: NoParams,
    query: AdminTokenQuery,
    responses: { 200: { description: "One page of tokens.", schema: AdminTokenPage } },
    async handler({ services, principal, query }) {
      if (query.cursor !== undefined && decodeTokenCursor(query.cursor) === null) throw badCursor();
      if (query.userId !== undefined && (await services.prisma.user.count({ where: { id: query.userId } })) === 0) {
        throw new ApiProblem(422, "No account has that id.", [{ pointer: "/query/userId", detail: "Use the id of an account." }]);
      }
      const page = await pageAllTokens(services, principal.user, query);
      return json({ items: page.tokens.map(representAdminToken), nextCursor: page.nextCursor });
    },
  }),
  defineOperation({
    operationId: "revokeToken",
    method: "delete",
    path: "/admin/tokens/{tokenId}",
    tag: "Tokens",
    summary: "Revoke anyone's access token",
    description: "As on /admin/tokens: it stops working at once, on the API and on uploads. Audited, with its owner.",
    scope: "admin",
    params: TokenParams,
    responses: { 204: { description: "Revoked." } },
    async handler({ services, principal, params, request, clientIp }) {
      await revokeToken(services, principal.user, params.tokenId, auditActor(request, clientIp, principal.user));
      return new Response(null, { status: 204 });
    },
  }),
];

/** Your own tokens and everyone's: one list for API_OPERATIONS. */
export const tokenOperations: Operation[] = [...myTokenOperations, ...adminTokenOperations];
