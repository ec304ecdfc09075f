import { randomBytes } from "node:crypto";
import { z } from "zod";
import type { Services } from "~/services/index.server";
import { type AuditActor, recordAudit } from "../audit/audit.server";
import { ValidationError } from "../errors";
import { appendEvent } from "../events/outbox.server";

export const ANNOUNCEMENT_TITLE_MAX = 120;
export const ANNOUNCEMENT_BODY_MAX = 2000;

const announcementInput = z.object({
  title: z
    .string()
    .trim()
    .min(1, "Give the announcement a title.")
    .max(ANNOUNCEMENT_TITLE_MAX, `At most ${ANNOUNCEMENT_TITLE_MAX} characters.`),
  body: z.string().trim().max(ANNOUNCEMENT_BODY_MAX, `At most ${ANNOUNCEMENT_BODY_MAX} characters.`).default(""),
});

/**
 * An administrator's announcement to every active account (admin.announcement, decision 0038):
 * audited and appended to the outbox in one transaction; the dispatcher writes one notification
 * per active account and sends it to administrators' instance webhooks. Its id names it in both.
 */
export async function sendAnnouncement(
  services: Pick<Services, "prisma">,
  admin: { id: string; role: string },
  input: unknown,
  audit: AuditActor,
): Promise<{ id: string; title: string }> {
  if (admin.role !== "ADMIN") throw new ValidationError("Only administrators send announcements.");
  const parsed = announcementInput.safeParse(input);
  if (!parsed.success) {
    const errors: Record<string, string> = {};
    for (const issue of parsed.error.issues) errors[String(issue.path[0] ?? "form")] ??= issue.message;
    throw new ValidationError("Please correct the highlighted fields.", errors);
  }
  const { title, body } = parsed.data;
  const id = `a${randomBytes(12).toString("hex")}`;
  await services.prisma.$transaction(async (tx) => {
    await recordAudit(tx, audit, {
      action: "admin.announcement",
      targetType: "announcement",
      targetId: id,
      details: { title, bodyLength: body.length, audience: "all" },
    });
    await appendEvent(tx, {
      actorId: admin.id,
      action: "admin.announcement",
      subjectType: "announcement",
      subjectId: id,
      details: { title, body, audience: "all" },
    });
  });
  return { id, title };
}
