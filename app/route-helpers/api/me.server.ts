import { z } from "zod";
import { hasMfa } from "~/domain/accounts/mfa.server";
import { myActivity } from "~/domain/audit/activity.server";
import { isAppError } from "~/domain/errors";
import { storageUsage } from "~/domain/files/quota.server";
import { defineOperation, json, type Operation } from "./operation.server";
import { ApiProblem } from "./problem.server";
import { ActivityPage, ActivityQuery, Me, Usage } from "./schemas-admin";

/**
 * Your own account. Reads need `files:read`, the scope every file-reading script has: what the
 * account is and how full it is belong with reading its files. Nothing here changes anything
 * (no page lets a person change their name or email), so there is no PATCH.
 */

const NoParams = z.strictObject({});

export const meOperations: Operation[] = [
  defineOperation({
    operationId: "getMe",
    method: "get",
    path: "/me",
    tag: "Me",
    summary: "Get your account",
    description: "Who the session or token belongs to: name, email, role, whether sign-in takes two steps.",
    scope: "files:read",
    params: NoParams,
    responses: { 200: { description: "Your account.", schema: Me } },
    async handler({ services, principal }) {
      const [user, mfaEnabled] = await Promise.all([
        services.prisma.user.findUniqueOrThrow({
          where: { id: principal.user.id },
          select: { id: true, name: true, email: true, role: true, createdAt: true },
        }),
        hasMfa(services, principal.user.id),
      ]);
      return json({ ...user, mfaEnabled, createdAt: user.createdAt.toISOString() });
    },
  }),
  defineOperation({
    operationId: "getMyUsage",
    method: "get",
    path: "/me/usage",
    tag: "Me",
    summary: "Get your storage use and quota",
    description: "What counts against your quota (files, versions, trash and uploads in progress) and the quota in effect.",
    scope: "files:read",
    params: NoParams,
    responses: { 200: { description: "Your storage.", schema: Usage } },
    async handler({ services, principal }) {
      return json(await storageUsage(services, principal.user.id));
    },
  }),
  defineOperation({
    operationId: "listMyActivity",
    method: "get",
    path: "/me/activity",
    tag: "Me",
    summary: "List what you did",
    description: "Your activity, newest first, as on the My activity page: 50 a page, paged with an opaque cursor.",
    scope: "files:read",
    params: NoParams,
    query: ActivityQuery,
    responses: { 200: { description: "One page of your activity.", schema: ActivityPage } },
    async handler({ services, principal, query }) {
      try {
        const page = await myActivity(services, principal.user, query.cursor ?? null);
        return json({ items: page.entries, nextCursor: page.nextCursor });
      } catch (error) {
        if (isAppError(error) && error.status === 400) throw badCursor();
        throw error;
      }
    },
  }),
];

export function badCursor() {
  return new ApiProblem(422, "The cursor is not valid for this listing.", [
    { pointer: "/query/cursor", detail: "Use a nextCursor this listing gave." },
  ]);
}
