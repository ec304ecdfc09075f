import { z } from "zod";
import { assertPasswordAuthAllowed } from "~/domain/accounts/oidc.server";
import { lockStatus, unlockAccount } from "~/domain/accounts/lockout.server";
import { restartSessions } from "~/domain/accounts/sessions.server";
import { registerUser } from "~/domain/accounts/users.server";
import { erasureOfAccount } from "~/domain/accounts/account-deletion.server";
import {
  type AdminUserRow,
  decodeUserCursor,
  pageUsersForAdmin,
  setUserQuota,
  setUserRole,
  userForAdmin,
} from "~/domain/admin/admin.server";
import { deleteUserByAdmin, restoreDeletedAccount, setUserActive } from "~/domain/admin/admin-users.server";
import { auditActor, recordAudit } from "~/domain/audit/audit.server";
import { isAppError } from "~/domain/errors";
import type { Services } from "~/services/index.server";
import { defineOperation, json, type Operation } from "./operation.server";
import { ApiProblem } from "./problem.server";
import {
  AdminUser,
  AdminUserPage,
  ConfirmProof,
  CreateUser,
  DeleteUser,
  Erasure,
  SetUserStatus,
  UpdateUser,
  UserDeletion,
  UserListQuery,
} from "./schemas-admin";
import { IdempotencyHeader, IdParams } from "./schemas";
import { badCursor } from "./me.server";

/**
 * Accounts, as the admin overview and the account pages manage them, through the same domain
 * functions (which audit each change as the pages do). Every operation needs the `admin` scope,
 * which only an administrator's token or session holds.
 */

const NoParams = z.strictObject({});
const USERS_PATH = "/api/v1/admin/users";

async function representUser(services: Services, row: AdminUserRow): Promise<z.infer<typeof AdminUser>> {
  const lock = await lockStatus(services, row.email);
  return {
    id: row.id,
    name: row.name,
    email: row.email,
    role: row.role,
    createdAt: row.createdAt.toISOString(),
    deactivatedAt: row.deactivatedAt?.toISOString() ?? null,
    deletedAt: row.deletedAt?.toISOString() ?? null,
    purgeAfter: row.purgeAfter?.toISOString() ?? null,
    fileCount: row.fileCount,
    bytesUsed: row.bytesUsed,
    countedBytes: row.countedBytes,
    quotaBytes: row.quotaOverride,
    effectiveQuotaBytes: row.effectiveQuota,
    failedLogins: lock.failures,
    lockedUntil: lock.lockedUntil?.toISOString() ?? null,
  };
}

async function userReply(services: Services, id: string, status = 200, headers: Record<string, string> = {}) {
  return json(await representUser(services, await userForAdmin(services, id)), status, headers);
}

/**
 * A wrong confirmation is the domain's 401, which in the API would read as a bad token: it is
 * a refusal of this request (403), pointing at the field.
 */
async function confirmed<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (isAppError(error) && error.status === 401) {
      throw new ApiProblem(403, error.message, [{ pointer: "/body/proof", detail: error.fieldErrors.proof ?? error.message }]);
    }
    throw error;
  }
}

export const adminUserOperations: Operation[] = [
  defineOperation({
    operationId: "listUsers",
    method: "get",
    path: "/admin/users",
    tag: "Users",
    summary: "List accounts",
    description: "Every account with its storage and quota, oldest first, optionally only emails containing `email`; paged with a cursor.",
    scope: "admin",
    params: NoParams,
    query: UserListQuery,
    responses: { 200: { description: "One page of accounts.", schema: AdminUserPage } },
    async handler({ services, query }) {
      if (query.cursor !== undefined && decodeUserCursor(query.cursor) === null) throw badCursor();
      const page = await pageUsersForAdmin(services, { email: query.email, cursor: query.cursor, limit: query.limit });
      return json({ items: await Promise.all(page.users.map((row) => representUser(services, row))), nextCursor: page.nextCursor });
    },
  }),
  defineOperation({
    operationId: "createUser",
    method: "post",
    path: "/admin/users",
    tag: "Users",
    summary: "Create an account",
    description:
      "Creates an account with a password, checked as on the registration page (refused when password sign-in is off). Safe to retry with an Idempotency-Key.",
    scope: "admin",
    params: NoParams,
    headers: IdempotencyHeader,
    idempotent: true,
    body: CreateUser,
    problems: [409],
    responses: { 201: { description: "The new account.", schema: AdminUser, headers: { Location: "The account's URL." } } },
    async handler({ services, principal, body, request, clientIp }) {
      assertPasswordAuthAllowed(services, "registration");
      const user = await registerUser(services, body);
      await recordAudit(services, auditActor(request, clientIp, principal.user), {
        action: "user.registered",
        targetType: "user",
        targetId: user.id,
        details: { role: user.role, byAdmin: true },
      });
      return userReply(services, user.id, 201, { Location: `${USERS_PATH}/${user.id}` });
    },
  }),
  defineOperation({
    operationId: "getUser",
    method: "get",
    path: "/admin/users/{id}",
    tag: "Users",
    summary: "Get an account",
    description: "One account with its storage and quota.",
    scope: "admin",
    params: IdParams,
    responses: { 200: { description: "The account.", schema: AdminUser } },
    async handler({ services, params }) {
      return userReply(services, params.id);
    },
  }),
  defineOperation({
    operationId: "updateUser",
    method: "patch",
    path: "/admin/users/{id}",
    tag: "Users",
    summary: "Change an account's quota or role",
    description:
      "`quotaBytes` sets the account's own quota (null: the default); `role` makes it an administrator or a regular user. The last active administrator cannot be demoted (409).",
    scope: "admin",
    params: IdParams,
    body: UpdateUser,
    problems: [409],
    responses: { 200: { description: "The account after the change.", schema: AdminUser } },
    async handler({ services, principal, params, body, request, clientIp }) {
      const audit = auditActor(request, clientIp, principal.user);
      // Unknown accounts are 404 before anything changes.
      await userForAdmin(services, params.id);
      const headers: Record<string, string> = {};
      // The role first: it is what can be refused (the last administrator), and then nothing changed.
      if (body.role !== undefined) {
        const result = await setUserRole(services, principal.user, params.id, body.role, audit);
        // As on the page: a privilege change of your own session gives it a new id.
        if (params.id === principal.user.id && result.changed && principal.token === null) {
          headers["Set-Cookie"] = await restartSessions(services, principal.user.id, request, clientIp);
        }
      }
      if (body.quotaBytes !== undefined) {
        await setUserQuota(services, principal.user, params.id, body.quotaBytes === null ? "" : String(body.quotaBytes), audit);
      }
      return userReply(services, params.id, 200, headers);
    },
  }),
  defineOperation({
    operationId: "setUserStatus",
    method: "post",
    path: "/admin/users/{id}/status",
    tag: "Users",
    summary: "Deactivate or reactivate an account",
    description:
      "Deactivating ends the account's sessions and stops its share links; its files are kept. Not your own account (403), nor the last active administrator (409). Needs `proof`, as the page does.",
    scope: "admin",
    params: IdParams,
    body: SetUserStatus,
    problems: [409],
    responses: { 200: { description: "The account after the change.", schema: AdminUser } },
    async handler({ services, principal, params, body, request, clientIp }) {
      await confirmed(() =>
        setUserActive(services, principal.user, params.id, body.active, body.proof, auditActor(request, clientIp, principal.user)),
      );
      return userReply(services, params.id);
    },
  }),
  defineOperation({
    operationId: "unlockUser",
    method: "post",
    path: "/admin/users/{id}/unlock",
    tag: "Users",
    summary: "Let a locked-out account sign in again",
    description: "Forgets the account's failed sign-ins, as the unlock button of the admin overview does.",
    scope: "admin",
    params: IdParams,
    responses: { 200: { description: "The account, unlocked.", schema: AdminUser } },
    async handler({ services, principal, params, request, clientIp }) {
      await unlockAccount(services, auditActor(request, clientIp, principal.user), params.id);
      return userReply(services, params.id);
    },
  }),
  defineOperation({
    operationId: "restoreUser",
    method: "post",
    path: "/admin/users/{id}/restore",
    tag: "Users",
    summary: "Restore a deleted account",
    description:
      "Brings back an account deleted within the grace period (409 when it is not deleted). It stays deactivated if it was before it was deleted. Needs `proof`, as the page does.",
    scope: "admin",
    params: IdParams,
    body: ConfirmProof,
    problems: [409],
    responses: { 200: { description: "The restored account.", schema: AdminUser } },
    async handler({ services, principal, params, body, request, clientIp }) {
      await confirmed(() =>
        restoreDeletedAccount(services, principal.user, params.id, body.proof, auditActor(request, clientIp, principal.user)),
      );
      return userReply(services, params.id);
    },
  }),
  defineOperation({
    operationId: "deleteUser",
    method: "post",
    path: "/admin/users/{id}/delete",
    tag: "Users",
    summary: "Delete an account, or hand its files over",
    description:
      "As the deletion page: type the account's email and confirm it is you. Its files are deleted, or handed to `giveFilesTo`. With a grace period the account stays restorable until purgeAfter (200, deleted); without one, or for an account already deleted, it is erased: at once (200, purged), or for a large account by a background job (202, erasing, with a Location to poll).",
    scope: "admin",
    params: IdParams,
    body: DeleteUser,
    problems: [409],
    responses: {
      200: { description: "Deleted (restorable) or erased.", schema: UserDeletion },
      202: { description: "Being erased in the background.", schema: UserDeletion, headers: { Location: "Where to poll the erasure." } },
    },
    async handler({ services, principal, params, body, request, clientIp }) {
      const files = body.giveFilesTo == null ? "delete" : `give:${body.giveFilesTo}`;
      const result = await confirmed(() =>
        deleteUserByAdmin(
          services,
          principal.user,
          params.id,
          { confirmEmail: body.confirmEmail, proof: body.proof, files },
          auditActor(request, clientIp, principal.user),
        ),
      );
      const { removal } = result;
      if (removal.kind === "deleted") {
        return json({ id: result.id, status: "deleted", purgeAfter: removal.purgeAfter.toISOString(), givenTo: result.givenTo });
      }
      const reply = { id: result.id, status: removal.erasing ? "erasing" : "purged", purgeAfter: null, givenTo: result.givenTo };
      if (!removal.erasing) return json(reply);
      return json(reply, 202, { Location: `${USERS_PATH}/${result.id}/erasure` });
    },
  }),
  defineOperation({
    operationId: "getUserErasure",
    method: "get",
    path: "/admin/users/{id}/erasure",
    tag: "Users",
    summary: "Follow the erasure of a deleted account",
    description: "How far the background erasure is. 404 once it is finished (the account is gone) or when none is under way.",
    scope: "admin",
    params: IdParams,
    responses: { 200: { description: "Under way.", schema: Erasure } },
    async handler({ services, params }) {
      const progress = await erasureOfAccount(services, params.id);
      if (!progress) throw new ApiProblem(404, "No erasure of that account is under way.");
      return json(progress);
    },
  }),
];
