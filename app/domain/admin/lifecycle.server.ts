// The lifecycle rules administrators set (settings) and what their hourly purges last removed,
// for /admin/lifecycle.
import type { Prisma } from "~/generated/prisma/client";
import type { Services } from "~/services/index.server";
import { getSettings, versionLimit } from "./settings.server";

/** The purges of the rules, each recorded after every run under this name. */
export const LIFECYCLE_RULES = ["trash", "versions", "audit", "accounts"] as const;

export type LifecycleRule = (typeof LIFECYCLE_RULES)[number];

/** Records what a purge run removed (zero counts too: the page then shows that it ran). */
export async function recordLifecycleRun(services: Services, rule: LifecycleRule, removed: Record<string, number>, now = new Date()) {
  const value = removed as Prisma.InputJsonObject;
  await services.prisma.lifecycleRun.upsert({
    where: { rule },
    create: { rule, finishedAt: now, removed: value },
    update: { finishedAt: now, removed: value },
  });
}

export interface LifecycleRuleView {
  rule: LifecycleRule;
  title: string;
  /** The rule in words, as the settings say it now. */
  setting: string;
  lastRun: { finishedAt: Date; removed: Record<string, number> } | null;
  /** Deleted accounts still restorable (the accounts rule only; null for the others). */
  waiting: number | null;
}

const plural = (count: number, one: string) => `${count} ${one}${count === 1 ? "" : "s"}`;

/** Every rule as set now, with its purge's last run. */
export async function lifecycleOverview(services: Services): Promise<LifecycleRuleView[]> {
  const [settings, runs, waiting] = await Promise.all([
    getSettings(services),
    services.prisma.lifecycleRun.findMany(),
    services.prisma.user.count({ where: { deletedAt: { not: null } } }),
  ]);
  const lastRun = (rule: LifecycleRule) => {
    const run = runs.find((row) => row.rule === rule);
    if (!run) return null;
    const removed = Object.fromEntries(
      Object.entries((run.removed ?? {}) as Record<string, unknown>).filter(
        (entry): entry is [string, number] => typeof entry[1] === "number",
      ),
    );
    return { finishedAt: run.finishedAt, removed };
  };
  const limit = versionLimit(settings);
  const versionRules = [
    limit === null ? null : limit === 0 ? "no earlier versions" : `at most ${plural(limit, "earlier version")} per file`,
    settings.versionRetentionDays === null ? null : `each for ${plural(settings.versionRetentionDays, "day")} after it was replaced`,
  ].filter((part): part is string => part !== null);
  return [
    {
      rule: "trash",
      title: "Trash",
      setting: `Items are deleted for good ${plural(settings.trashRetentionDays, "day")} after they were put in the trash.`,
      lastRun: lastRun("trash"),
      waiting: null,
    },
    {
      rule: "versions",
      title: "Versions",
      setting: versionRules.length === 0 ? "Every earlier version is kept." : `Kept: ${versionRules.join(", ")}.`,
      lastRun: lastRun("versions"),
      waiting: null,
    },
    {
      rule: "audit",
      title: "Audit log",
      setting:
        settings.auditRetentionDays === null
          ? "Audit events are kept forever."
          : `Audit events are deleted ${plural(settings.auditRetentionDays, "day")} after they happened.`,
      lastRun: lastRun("audit"),
      waiting: null,
    },
    {
      rule: "accounts",
      title: "Deleted accounts",
      setting:
        settings.deletedAccountRetentionDays === 0
          ? "A deleted account is purged at once."
          : `A deleted account can be restored for ${plural(settings.deletedAccountRetentionDays, "day")}, then it is purged with its files.`,
      lastRun: lastRun("accounts"),
      waiting,
    },
  ];
}
