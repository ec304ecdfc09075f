import type { Services } from "~/services/index.server";
import { ForbiddenError } from "../errors";

/**
 * Deactivated accounts (an administrator's decision, `users.deactivated_at`): nobody can sign in
 * to them, their sessions are gone, their share links answer as expired, their shares with
 * other users grant nothing (LIVE_USER_SHARE in access.server.ts) and their uploads are refused.
 * Their files and shares stay until the account is reactivated or deleted.
 */
export const DEACTIVATED_MESSAGE = "This account has been deactivated. Ask an administrator of this Coffer to reactivate it.";

export class AccountDeactivatedError extends ForbiddenError {
  constructor() {
    super(DEACTIVATED_MESSAGE);
  }
}

export async function isDeactivated(services: Pick<Services, "prisma">, userId: string): Promise<boolean> {
  const user = await services.prisma.user.findUnique({ where: { id: userId }, select: { deactivatedAt: true } });
  return Boolean(user?.deactivatedAt);
}

/** Refuses a sign-in (or a new session) for a deactivated account. */
export async function assertAccountActive(services: Pick<Services, "prisma">, userId: string): Promise<void> {
  if (await isDeactivated(services, userId)) throw new AccountDeactivatedError();
}
