import type { SessionUser } from "./sessions.server";

/** Owners use their own items; admins may read anyone's. Share grants arrive with sharing. */
export function canRead(user: Pick<SessionUser, "id" | "role">, ownerId: string): boolean {
  return user.id === ownerId || user.role === "ADMIN";
}

export function canWrite(user: Pick<SessionUser, "id">, ownerId: string): boolean {
  return user.id === ownerId;
}
