import { hash, verify } from "@node-rs/argon2";
import { z } from "zod";
import type { Services } from "~/services/index.server";
import type { User } from "~/generated/prisma/client";
import { ConflictError, ValidationError } from "../errors";
import { CONTROL_CHARACTERS, INVISIBLE_CHARACTERS } from "../files/names";
import { checkPassword, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from "./password-policy.server";

export type PublicUser = Pick<User, "id" | "email" | "name" | "role">;

export const registrationSchema = z.object({
  email: z.string().trim().toLowerCase().max(254, "Email is too long.").pipe(z.email("Enter a valid email address.")),
  name: z
    .string()
    .trim()
    .min(1, "Enter your name.")
    .max(100, "Name is too long (at most 100 characters).")
    .refine((name) => !CONTROL_CHARACTERS.test(name), "Name cannot contain control characters.")
    .refine((name) => !INVISIBLE_CHARACTERS.test(name), "Name cannot contain invisible or direction-changing characters."),
  password: z
    .string()
    .min(PASSWORD_MIN_LENGTH, `Use at least ${PASSWORD_MIN_LENGTH} characters.`)
    .max(PASSWORD_MAX_LENGTH, `Use at most ${PASSWORD_MAX_LENGTH} characters.`),
});

export const loginSchema = z.object({
  email: z
    .string()
    .trim()
    .toLowerCase()
    .min(1, "Enter your email address.")
    .max(254, "Email is too long.")
    .refine((email) => !CONTROL_CHARACTERS.test(email), "Enter a valid email address."),
  password: z.string().min(1, "Enter your password."),
});

export function fieldErrors(error: z.ZodError): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const issue of error.issues) {
    const key = String(issue.path[0] ?? "form");
    errors[key] ??= issue.message;
  }
  return errors;
}

/** Argon2id with the library's defaults (19 MiB, 2 passes), the OWASP baseline. */
export const hashPassword = (password: string) => hash(password);

/** Creates the account and its root folder. The very first account becomes an admin. */
export async function registerUser(services: Services, input: unknown): Promise<PublicUser> {
  const parsed = registrationSchema.safeParse(input);
  if (!parsed.success) throw new ValidationError("Please correct the highlighted fields.", fieldErrors(parsed.error));
  const { email, name, password } = parsed.data;
  const refused = checkPassword(password, { name, email });
  if (refused) throw new ValidationError("Please choose another password.", { password: refused });
  const passwordHash = await hashPassword(password);
  try {
    return await services.prisma.$transaction(async (tx) => {
      // Serialise registrations so that two racing first sign-ups cannot both become admin.
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(72707370)`;
      const isFirst = (await tx.user.count()) === 0;
      const user = await tx.user.create({
        data: { email, name, passwordHash, role: isFirst ? "ADMIN" : "USER" },
        select: { id: true, email: true, name: true, role: true },
      });
      await tx.folder.create({ data: { ownerId: user.id, parentId: null, name: "", nameKey: "" } });
      return user;
    });
  } catch (error) {
    if ((error as { code?: string }).code === "P2002") {
      throw new ConflictError("An account with this email already exists. Log in instead.", {
        email: "An account with this email already exists.",
      });
    }
    throw error;
  }
}

// A real hash to verify against when the email is unknown, so timing does not reveal accounts.
let dummyHash: Promise<string> | null = null;

/** The user when email and password match, else null. Takes the same time either way. */
export async function verifyLogin(services: Services, email: string, password: string): Promise<PublicUser | null> {
  const user = await services.prisma.user.findUnique({ where: { email: email.trim().toLowerCase() } });
  if (!user) {
    dummyHash ??= hashPassword("not-a-real-password-only-for-timing");
    await verify(await dummyHash, password).catch(() => false);
    return null;
  }
  const ok = await verify(user.passwordHash, password).catch(() => false);
  return ok ? { id: user.id, email: user.email, name: user.name, role: user.role } : null;
}

/** No account exists yet: the first to register becomes the administrator. */
export async function isFirstAccount(services: Services): Promise<boolean> {
  return (await services.prisma.user.count()) === 0;
}

/** Who a login step is for (the id comes from a signed cookie or a verified passkey), or null. */
export function loginAccount(
  services: Services,
  userId: string,
): Promise<{ id: string; email: string; deactivatedAt: Date | null } | null> {
  return services.prisma.user.findUnique({ where: { id: userId }, select: { id: true, email: true, deactivatedAt: true } });
}
