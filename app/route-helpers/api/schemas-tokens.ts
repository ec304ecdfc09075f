import { z } from "zod";
import { TOKEN_SCOPES } from "~/domain/tokens/scopes";
import { Id } from "./schemas";

/**
 * Personal access tokens: your own (`/me/tokens`) and everyone's (`/admin/tokens`). A token's
 * representation never holds its secret or its hash; the secret is in the create's answer only.
 * Request objects are strict; the rules of a name, the scopes and the expiry stay with the
 * domain's `createToken`, so the API cannot accept what the tokens page refuses.
 */

const Timestamp = z.iso.datetime().meta({ description: "An RFC 3339 timestamp (UTC)." });
const ETagValue = z.string().meta({ description: "The entity tag of this representation." });
const Scope = z.enum(TOKEN_SCOPES).meta({
  id: "TokenScope",
  description: "`files:read`; `files:write` (includes reading); `shares`; `admin` (administrators only, nothing about files).",
});

export const TokenId = z
  .string()
  .regex(/^[0-9a-f]{24}$/)
  .meta({ id: "TokenId", description: "A token's public id: the part after `coffer_pat_` and before the secret." });

export const TokenParams = z.strictObject({ tokenId: TokenId });

const tokenFields = {
  id: TokenId,
  name: z.string(),
  scopes: z.array(Scope),
  createdAt: Timestamp,
  expiresAt: Timestamp.nullable().meta({ description: "When it stops working; null: never." }),
  expired: z.boolean().meta({ description: "Past its expiry: it no longer works, and is listed until revoked." }),
  lastUsedAt: Timestamp.nullable().meta({ description: "Its last request (recorded at most once a minute); null: never used." }),
  lastUsedIp: z.string().nullable().meta({ description: "The address of that request." }),
  etag: ETagValue,
};

export const Token = z.object(tokenFields).meta({ id: "Token", description: "A personal access token, without its secret." });

export const TokenList = z
  .object({ items: z.array(Token) })
  .meta({ id: "TokenList", description: "Your tokens that are not revoked (at most 100), newest first." });

export const CreatedToken = z
  .object({
    ...tokenFields,
    secret: z.string().nullable().meta({
      description:
        "The whole token (`coffer_pat_…`), to send as `Authorization: Bearer`. Only in this answer: Coffer keeps no copy, so a replay of the create (Idempotent-Replayed) answers null.",
    }),
  })
  .meta({ id: "CreatedToken", description: "A new token, with its secret shown this once." });

export const CreateToken = z
  .strictObject({
    name: z.string().max(1000).meta({ description: "What will use it, e.g. “backup script”; 1 to 100 characters." }),
    scopes: z
      .array(Scope)
      .min(1)
      .max(TOKEN_SCOPES.length * 4),
    expiresAt: z.iso
      .datetime({ offset: true })
      .optional()
      .meta({ description: "When it stops working; in the future. Leave out both expiries for a token that never expires." }),
    expiresInDays: z.number().int().min(1).max(36_500).optional().meta({ description: "Or: it stops working this many days from now." }),
  })
  .refine((body) => body.expiresAt === undefined || body.expiresInDays === undefined, {
    message: "Give expiresAt or expiresInDays, not both.",
    path: ["expiresInDays"],
  })
  .meta({
    id: "CreateToken",
    description: "When the administrator requires tokens to expire, one of the expiries is needed, within the longest lifetime allowed.",
  });

export const AdminToken = z
  .object({
    ...tokenFields,
    user: z.object({ id: Id, email: z.string(), name: z.string() }).meta({ description: "Whose token it is." }),
  })
  .meta({ id: "AdminToken", description: "Someone's personal access token, without its secret." });

export const AdminTokenPage = z
  .object({
    items: z.array(AdminToken),
    nextCursor: z.string().nullable().meta({ description: "Pass as `cursor` for the next page; null on the last page." }),
  })
  .meta({ id: "AdminTokenPage" });

export const AdminTokenQuery = z
  .strictObject({
    cursor: z.string().max(512).optional().meta({ description: "An opaque cursor from `nextCursor`." }),
    userId: Id.optional().meta({ description: "Only this account's tokens." }),
    email: z.string().min(1).max(254).optional().meta({ description: "Only tokens of accounts whose email contains this (any case)." }),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
  .meta({ id: "AdminTokenQuery" });
