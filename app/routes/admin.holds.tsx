import { Card } from "~/components/ui/card";
import { redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { z } from "zod";
import { AdminHeader } from "~/components/admin/admin-nav";
import { CsrfInput } from "~/components/csrf-input";
import { Field, FormMessage } from "~/components/field";
import { Badge } from "~/components/ui/badge";
import { Button } from "~/components/ui/button";
import { Label, Select } from "~/components/ui/input";
import { HOLD_REASON_MAX } from "~/domain/admin/legal-holds";
import { listHolds, placeHold, releaseHold } from "~/domain/admin/legal-holds.server";
import { RETENTION_DAYS_MAX, RETENTION_KIND_LABELS, RETENTION_REASON_MAX } from "~/domain/admin/retention-rules";
import { addRetentionRule, listRetentionRules, removeRetentionRule } from "~/domain/admin/retention-rules.server";
import { auditActor } from "~/domain/audit/audit.server";
import { formatDate } from "~/lib/format";
import { field, parseForm, parseQuery } from "~/route-helpers/forms.server";
import { requireAdmin } from "~/route-helpers/guards.server";
import { actionFailure } from "~/route-helpers/http.server";
import { asId } from "~/route-helpers/params.server";

export const meta: MetaFunction = () => [{ title: "Legal holds and retention · Admin · Coffer" }];

const DONE_MESSAGES: Record<string, string> = {
  placed: "The legal hold was placed. What it covers can no longer be deleted.",
  released: "The legal hold was released.",
  "rule-added": "The retention rule was added.",
  "rule-removed": "The retention rule was removed.",
};

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { services } = context;
  const admin = await requireAdmin(services, request);
  const { done } = parseQuery(request, z.object({ done: field.hint(20) }));
  const [holds, rules] = await Promise.all([listHolds(services, admin), listRetentionRules(services, admin)]);
  const serialiseRule = (rule: (typeof rules.active)[number]) => ({
    ...rule,
    createdAt: rule.createdAt.toISOString(),
    removedAt: rule.removedAt?.toISOString() ?? null,
  });
  const serialise = (hold: (typeof holds.active)[number]) => ({
    ...hold,
    placedAt: hold.placedAt.toISOString(),
    releasedAt: hold.releasedAt?.toISOString() ?? null,
  });
  return {
    active: holds.active.map(serialise),
    released: holds.released.map(serialise),
    activeRules: rules.active.map(serialiseRule),
    removedRules: rules.removed.map(serialiseRule),
    done: done && DONE_MESSAGES[done] ? DONE_MESSAGES[done] : null,
  };
}

const holdsForm = z.object({
  intent: field.oneOf(["place", "release", "add-rule", "remove-rule"]),
  targetType: field.text(20),
  email: field.text(320),
  itemId: field.text(100),
  path: field.text(4096),
  reason: field.text(HOLD_REASON_MAX + 100),
  holdId: field.text(100),
  kind: field.text(40),
  days: field.text(20),
  ruleId: field.text(100),
});

export async function action({ request, context }: ActionFunctionArgs) {
  const { services, clientIp } = context;
  const admin = await requireAdmin(services, request);
  let intent = "";
  let holdId = "";
  let ruleId = "";
  try {
    const form = await parseForm(request, holdsForm);
    intent = form.intent;
    const audit = auditActor(request, clientIp, admin);
    if (form.intent === "place") {
      await placeHold(
        services,
        admin,
        {
          targetType: form.targetType,
          email: form.email,
          reason: form.reason,
          ...(form.targetType !== "user" && form.itemId.trim() !== "" ? { itemId: form.itemId } : {}),
          ...(form.targetType !== "user" && form.itemId.trim() === "" ? { path: form.path } : {}),
        },
        audit,
      );
      return redirect("/admin/holds?done=placed");
    }
    if (form.intent === "add-rule") {
      await addRetentionRule(
        services,
        admin,
        {
          email: form.email,
          kind: form.kind,
          days: form.days,
          reason: form.reason,
          ...(form.itemId.trim() !== "" ? { itemId: form.itemId } : { path: form.path }),
        },
        audit,
      );
      return redirect("/admin/holds?done=rule-added");
    }
    if (form.intent === "remove-rule") {
      ruleId = asId(form.ruleId);
      await removeRetentionRule(services, admin, ruleId, { reason: form.reason }, audit);
      return redirect("/admin/holds?done=rule-removed");
    }
    holdId = asId(form.holdId);
    await releaseHold(services, admin, holdId, { reason: form.reason }, audit);
    return redirect("/admin/holds?done=released");
  } catch (error) {
    return actionFailure(error, { intent, holdId, ruleId });
  }
}

export default function AdminHolds() {
  const { active, released, activeRules, removedRules, done } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const busy = useNavigation().state !== "idle";
  const placeError = result && !result.ok && !["release", "add-rule", "remove-rule"].includes(result.intent) ? result : null;
  const addRuleError = result && !result.ok && result.intent === "add-rule" ? result : null;
  const removeRuleError = (id: string) => (result && !result.ok && result.intent === "remove-rule" && result.ruleId === id ? result : null);
  const releaseError = (id: string) => (result && !result.ok && result.intent === "release" && result.holdId === id ? result : null);
  return (
    <div className="space-y-6">
      <AdminHeader title="Legal holds" current="/admin/holds">
        <p className="mt-1 max-w-3xl text-sm text-text-muted">
          While a hold is active, nobody can delete, trash, purge or move out what it covers, not even an administrator; the trash and
          version purges and account deletion leave it alone. Changes still add versions. Placing and releasing are recorded in the{" "}
          <Link to="/admin/audit?action=admin.hold_placed" className="text-accent-text underline">
            audit log
          </Link>
          .
        </p>
      </AdminHeader>
      <div aria-live="polite">
        <FormMessage message={result ? null : done} tone="success" />
      </div>

      <Card as="section" padding="none" className="overflow-x-auto" aria-labelledby="active-heading">
        <h2 id="active-heading" className="border-b border-border px-4 py-3 font-semibold">
          Active holds ({active.length})
        </h2>
        {active.length === 0 ? (
          <p className="px-4 py-3 text-sm text-text-muted">No active holds.</p>
        ) : (
          <table className="w-full text-left text-sm">
            <thead className="bg-surface text-text-muted">
              <tr>
                <th scope="col" className="px-4 py-2 font-medium">
                  Covers
                </th>
                <th scope="col" className="px-4 py-2 font-medium">
                  Reason
                </th>
                <th scope="col" className="px-4 py-2 font-medium">
                  Placed
                </th>
                <th scope="col" className="px-4 py-2 font-medium">
                  Release
                </th>
              </tr>
            </thead>
            <tbody className="divide-y divide-border">
              {active.map((hold) => {
                const error = releaseError(hold.id);
                const reasonId = `release-reason-${hold.id}`;
                return (
                  <tr key={hold.id} data-testid="active-hold" className="align-top">
                    <th scope="row" className="px-4 py-2 font-medium">
                      <Badge tone="warning">Legal hold</Badge> <span className="wrap-anywhere">{hold.targetLabel}</span>
                      <span className="block text-xs font-normal text-text-muted wrap-anywhere">
                        {hold.ownerEmail ?? "deleted account"} · {hold.targetType} {hold.targetId}
                      </span>
                    </th>
                    <td className="px-4 py-2 wrap-anywhere">{hold.reason}</td>
                    <td className="px-4 py-2 whitespace-nowrap">
                      {formatDate(hold.placedAt)}
                      <span className="block text-xs text-text-muted wrap-anywhere">{hold.placedBy}</span>
                    </td>
                    <td className="px-4 py-2">
                      <Form method="post" className="flex flex-col gap-2">
                        <CsrfInput />
                        <input type="hidden" name="intent" value="release" />
                        <input type="hidden" name="holdId" value={hold.id} />
                        <Label htmlFor={reasonId} className="sr-only">
                          Why release the hold on {hold.targetLabel}
                        </Label>
                        <input
                          id={reasonId}
                          name="reason"
                          required
                          minLength={3}
                          maxLength={HOLD_REASON_MAX}
                          placeholder="Why release it"
                          className="input"
                          aria-invalid={error ? true : undefined}
                          aria-describedby={error ? `${reasonId}-error` : undefined}
                        />
                        {error ? (
                          <p id={`${reasonId}-error`} className="field-error">
                            {error.fieldErrors?.reason ?? error.message}
                          </p>
                        ) : null}
                        <Button type="submit" variant="secondary" disabled={busy}>
                          Release
                        </Button>
                      </Form>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </Card>

      <Card as="section" className="max-w-2xl space-y-3" aria-labelledby="place-heading">
        <h2 id="place-heading" className="text-lg font-semibold">
          Place a hold
        </h2>
        <p className="text-sm text-text-muted">
          On a user (everything they own), a folder (everything in it, including what is moved in later) or a file. Name a folder or file by
          its id, or by its path in the user's My files, such as <code>/Projects/2024</code>.
        </p>
        <FormMessage message={placeError?.message} />
        <Form method="post" className="space-y-3">
          <CsrfInput />
          <input type="hidden" name="intent" value="place" />
          <div>
            <Label htmlFor="field-targetType">Hold</Label>
            <Select id="field-targetType" name="targetType" defaultValue="user">
              <option value="user">A user: everything they own</option>
              <option value="folder">A folder and everything in it</option>
              <option value="file">A file</option>
            </Select>
          </div>
          <Field label="The user's email" name="email" type="email" required autoComplete="off" error={placeError?.fieldErrors?.email} />
          <Field
            label="Folder or file id (for a folder or a file)"
            name="itemId"
            autoComplete="off"
            error={placeError?.fieldErrors?.itemId}
            hint="Shown in the address of its details page."
          />
          <Field label="Or its path (for a folder or a file)" name="path" autoComplete="off" error={placeError?.fieldErrors?.path} />
          <Field
            label="Reason"
            name="reason"
            required
            minLength={3}
            maxLength={HOLD_REASON_MAX}
            error={placeError?.fieldErrors?.reason}
            hint="Recorded with the hold and in the audit log, such as a case number."
          />
          <Button type="submit" variant="primary" disabled={busy}>
            Place hold
          </Button>
        </Form>
      </Card>

      <Card as="section" padding="none" className="overflow-x-auto" aria-labelledby="released-heading">
        <h2 id="released-heading" className="border-b border-border px-4 py-3 font-semibold">
          Released holds
        </h2>
        {released.length === 0 ? (
          <p className="px-4 py-3 text-sm text-text-muted">None released yet.</p>
        ) : (
          <table className="w-full text-left text-sm">
            <thead className="bg-surface text-text-muted">
              <tr>
                <th scope="col" className="px-4 py-2 font-medium">
                  Covered
                </th>
                <th scope="col" className="px-4 py-2 font-medium">
                  Placed
                </th>
                <th scope="col" className="px-4 py-2 font-medium">
                  Released
                </th>
              </tr>
            </thead>
            <tbody className="divide-y divide-border">
              {released.map((hold) => (
                <tr key={hold.id} data-testid="released-hold" className="align-top">
                  <th scope="row" className="px-4 py-2 font-medium wrap-anywhere">
                    {hold.targetLabel}
                    <span className="block text-xs font-normal text-text-muted">{hold.ownerEmail ?? "deleted account"}</span>
                  </th>
                  <td className="px-4 py-2">
                    {formatDate(hold.placedAt)} by <span className="wrap-anywhere">{hold.placedBy}</span>:{" "}
                    <span className="wrap-anywhere">{hold.reason}</span>
                  </td>
                  <td className="px-4 py-2">
                    {hold.releasedAt ? formatDate(hold.releasedAt) : ""} by <span className="wrap-anywhere">{hold.releasedBy}</span>:{" "}
                    <span className="wrap-anywhere">{hold.releaseReason}</span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>

      <Card as="section" padding="none" className="overflow-x-auto" aria-labelledby="rules-heading">
        <h2 id="rules-heading" className="border-b border-border px-4 py-3 font-semibold">
          Retention rules ({activeRules.length})
        </h2>
        <p className="px-4 pt-3 text-sm text-text-muted">
          A rule on a folder covers the files in it and below it, including what is moved in later; a file's age counts from when it was
          first stored. <strong>Keep at least</strong>: nobody can delete, trash, purge or move out a file younger than that.{" "}
          <strong>Delete after</strong>: the hourly <code>retention-delete</code> job deletes files older than that for good, except held or
          kept ones. Adding and removing rules are recorded in the{" "}
          <Link to="/admin/audit?action=admin.retention_rule_added" className="text-accent-text underline">
            audit log
          </Link>
          .
        </p>
        {activeRules.length === 0 ? (
          <p className="px-4 py-3 text-sm text-text-muted">No retention rules.</p>
        ) : (
          <table className="mt-2 w-full text-left text-sm">
            <thead className="bg-surface text-text-muted">
              <tr>
                <th scope="col" className="px-4 py-2 font-medium">
                  Folder
                </th>
                <th scope="col" className="px-4 py-2 font-medium">
                  Rule
                </th>
                <th scope="col" className="px-4 py-2 font-medium">
                  Added
                </th>
                <th scope="col" className="px-4 py-2 font-medium">
                  Remove
                </th>
              </tr>
            </thead>
            <tbody className="divide-y divide-border">
              {activeRules.map((rule) => {
                const error = removeRuleError(rule.id);
                const reasonId = `remove-reason-${rule.id}`;
                return (
                  <tr key={rule.id} data-testid="active-rule" className="align-top">
                    <th scope="row" className="px-4 py-2 font-medium">
                      <span className="wrap-anywhere">{rule.targetLabel}</span>
                      <span className="block text-xs font-normal text-text-muted wrap-anywhere">
                        {rule.ownerEmail ?? "deleted account"} · folder {rule.targetId}
                      </span>
                    </th>
                    <td className="px-4 py-2">
                      <Badge tone={rule.kind === "keep_at_least" ? "warning" : "neutral"}>{RETENTION_KIND_LABELS[rule.kind]}</Badge>{" "}
                      {rule.days} {rule.days === 1 ? "day" : "days"}
                      <span className="block text-xs text-text-muted wrap-anywhere">{rule.reason}</span>
                    </td>
                    <td className="px-4 py-2 whitespace-nowrap">
                      {formatDate(rule.createdAt)}
                      <span className="block text-xs text-text-muted wrap-anywhere">{rule.createdBy}</span>
                    </td>
                    <td className="px-4 py-2">
                      <Form method="post" className="flex flex-col gap-2">
                        <CsrfInput />
                        <input type="hidden" name="intent" value="remove-rule" />
                        <input type="hidden" name="ruleId" value={rule.id} />
                        <Label htmlFor={reasonId} className="sr-only">
                          Why remove the rule on {rule.targetLabel}
                        </Label>
                        <input
                          id={reasonId}
                          name="reason"
                          required
                          minLength={3}
                          maxLength={RETENTION_REASON_MAX}
                          placeholder="Why remove it"
                          className="input"
                          aria-invalid={error ? true : undefined}
                          aria-describedby={error ? `${reasonId}-error` : undefined}
                        />
                        {error ? (
                          <p id={`${reasonId}-error`} className="field-error">
                            {error.fieldErrors?.reason ?? error.message}
                          </p>
                        ) : null}
                        <Button type="submit" variant="secondary" disabled={busy}>
                          Remove
                        </Button>
                      </Form>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </Card>

      <Card as="section" className="max-w-2xl space-y-3" aria-labelledby="add-rule-heading">
        <h2 id="add-rule-heading" className="text-lg font-semibold">
          Add a retention rule
        </h2>
        <p className="text-sm text-text-muted">
          Name the folder by its id, or by its path in the user's My files, such as <code>/Contracts</code>.
        </p>
        <FormMessage message={addRuleError?.message} />
        <Form method="post" className="space-y-3">
          <CsrfInput />
          <input type="hidden" name="intent" value="add-rule" />
          <Field
            id="rule-email"
            label="The folder owner's email"
            name="email"
            type="email"
            required
            autoComplete="off"
            error={addRuleError?.fieldErrors?.email}
          />
          <Field id="rule-itemId" label="Folder id" name="itemId" autoComplete="off" error={addRuleError?.fieldErrors?.itemId} />
          <Field id="rule-path" label="Or its path" name="path" autoComplete="off" error={addRuleError?.fieldErrors?.path} />
          <div>
            <Label htmlFor="rule-kind">Rule</Label>
            <Select id="rule-kind" name="kind" defaultValue="keep_at_least">
              <option value="keep_at_least">Keep files at least</option>
              <option value="delete_after">Delete files after</option>
            </Select>
          </div>
          <Field
            id="rule-days"
            label="Days"
            name="days"
            type="number"
            inputMode="numeric"
            min={1}
            max={RETENTION_DAYS_MAX}
            required
            error={addRuleError?.fieldErrors?.days}
            hint="Counted from when each file was first stored, such as 2557 for 7 years."
          />
          <Field
            id="rule-reason"
            label="Reason for the rule"
            name="reason"
            required
            minLength={3}
            maxLength={RETENTION_REASON_MAX}
            error={addRuleError?.fieldErrors?.reason}
            hint="Recorded with the rule and in the audit log."
          />
          <Button type="submit" variant="primary" disabled={busy}>
            Add rule
          </Button>
        </Form>
      </Card>

      <Card as="section" padding="none" className="overflow-x-auto" aria-labelledby="removed-rules-heading">
        <h2 id="removed-rules-heading" className="border-b border-border px-4 py-3 font-semibold">
          Removed retention rules
        </h2>
        {removedRules.length === 0 ? (
          <p className="px-4 py-3 text-sm text-text-muted">None removed yet.</p>
        ) : (
          <ul className="divide-y divide-border text-sm">
            {removedRules.map((rule) => (
              <li key={rule.id} data-testid="removed-rule" className="px-4 py-2 wrap-anywhere">
                {rule.targetLabel} ({rule.ownerEmail ?? "deleted account"}): {RETENTION_KIND_LABELS[rule.kind]} {rule.days} days, added{" "}
                {formatDate(rule.createdAt)} by {rule.createdBy} ({rule.reason}); removed {rule.removedAt ? formatDate(rule.removedAt) : ""}{" "}
                by {rule.removedBy}: {rule.removeReason}
              </li>
            ))}
          </ul>
        )}
      </Card>
    </div>
  );
}
