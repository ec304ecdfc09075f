import { z } from "zod";
import { saveSettingsForm, settingsFormValues } from "~/domain/admin/admin.server";
import { getSettings, type Settings } from "~/domain/admin/settings.server";
import { auditActor } from "~/domain/audit/audit.server";
import { isAppError } from "~/domain/errors";
import { defineOperation, json, type Operation, type OperationContext } from "./operation.server";
import { ApiProblem } from "./problem.server";
import { assertEtagMatches } from "./preconditions.server";
import { IfMatchHeader } from "./schemas";
import { AdminSettings, UpdateSettings } from "./schemas-admin";
import { entityTag } from "./entity-tag.server";

/**
 * The instance settings of /admin/settings. A change goes through the page's own path: the
 * current values as the form shows them, the changed fields written over them, then the page's
 * `saveSettingsForm` (its schema, its audit event), so the API accepts exactly what the page does.
 */

const NoParams = z.strictObject({});
type SettingsBody = Omit<z.infer<typeof AdminSettings>, "etag">;
type SettingsPatch = z.infer<typeof UpdateSettings>;
type Caller = Pick<OperationContext<unknown, unknown, unknown>, "services" | "principal" | "request" | "clientIp">;

/** The API's names where they differ from the form's. */
const FORM_NAMES: Partial<Record<keyof SettingsBody, string>> = { defaultQuotaBytes: "defaultQuota" };

function represent(settings: Settings): z.infer<typeof AdminSettings> {
  const body: SettingsBody = {
    defaultQuotaBytes: settings.defaultQuotaBytes,
    maxFileSize: settings.maxFileSize,
    blockedExtensions: settings.blockedExtensions,
    trashRetentionDays: settings.trashRetentionDays,
    auditRetentionDays: settings.auditRetentionDays,
    versionsKept: settings.keepAllVersions ? null : settings.versionsKept,
    versionRetentionDays: settings.versionRetentionDays,
    deletedAccountRetentionDays: settings.deletedAccountRetentionDays,
    coldTierAfterDays: settings.coldTierAfterDays,
    requireMfaForAdmins: settings.requireMfaForAdmins,
    requireMfaAfterSso: settings.requireMfaAfterSso,
    sessionIdleDays: settings.sessionIdleDays,
    sessionAbsoluteDays: settings.sessionAbsoluteDays,
    tokensMustExpire: settings.tokensMustExpire,
    tokenMaxDays: settings.tokenMaxDays,
  };
  return { ...body, etag: entityTag(body) };
}

/** A JSON value as the form would post it: empty for null, "on" or "" for a checkbox. */
function formValue(value: unknown): string {
  if (value === null) return "";
  if (typeof value === "boolean") return value ? "on" : "";
  if (Array.isArray(value)) return value.join(", ");
  return String(value);
}

/**
 * Writes the given settings through the settings page's save, under its lock: `check` sees the
 * stored settings first (an If-Match) and refuses by throwing; a refused value is a 422 at its field.
 */
export async function saveSettingsPatch(caller: Caller, patch: SettingsPatch, check: (current: Settings) => void): Promise<Settings> {
  const { services, principal, request, clientIp } = caller;
  // Checked and built from the stored settings under the save's lock, so a change made
  // meanwhile is neither overwritten nor missed by If-Match.
  const formFor = (current: Settings) => {
    check(current);
    const form: Record<string, string> = { ...settingsFormValues(current) };
    for (const [name, value] of Object.entries(patch)) {
      if (value !== undefined) form[FORM_NAMES[name as keyof SettingsBody] ?? name] = formValue(value);
    }
    return form;
  };
  try {
    return await saveSettingsForm(services, principal.user, formFor, auditActor(request, clientIp, principal.user));
  } catch (error) {
    if (!isAppError(error) || error.status !== 400) throw error;
    const apiName = (formName: string) => Object.entries(FORM_NAMES).find(([, form]) => form === formName)?.[0] ?? formName;
    const errors = Object.entries(error.fieldErrors).map(([name, detail]) => ({ pointer: `/body/${apiName(name)}`, detail }));
    throw new ApiProblem(422, error.message, errors);
  }
}

function reply(settings: Settings) {
  const body = represent(settings);
  return json(body, 200, { ETag: body.etag });
}

export const adminSettingsOperations: Operation[] = [
  defineOperation({
    operationId: "getSettings",
    method: "get",
    path: "/admin/settings",
    tag: "Settings",
    summary: "Get the instance settings",
    description: "The settings of /admin/settings and their ETag.",
    scope: "admin",
    params: NoParams,
    responses: { 200: { description: "The settings.", schema: AdminSettings, headers: { ETag: "The settings' entity tag." } } },
    async handler({ services }) {
      return reply(await getSettings(services));
    },
  }),
  defineOperation({
    operationId: "updateSettings",
    method: "patch",
    path: "/admin/settings",
    tag: "Settings",
    summary: "Change instance settings",
    description:
      "Changes the given settings, checked by the settings page's own rules (422 points at each refused field; nothing is saved then). Send If-Match to refuse a lost update (412).",
    scope: "admin",
    params: NoParams,
    headers: IfMatchHeader,
    body: UpdateSettings,
    problems: [412],
    responses: {
      200: { description: "The settings after the change.", schema: AdminSettings, headers: { ETag: "The settings' entity tag." } },
    },
    async handler(context) {
      const { request, body } = context;
      return reply(await saveSettingsPatch(context, body as SettingsPatch, (current) => assertEtagMatches(request, represent(current))));
    },
  }),
];
