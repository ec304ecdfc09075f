import { Card } from "~/components/ui/card";
import { data, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { AdminHeader } from "~/components/admin/admin-nav";
import { Form, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { z } from "zod";
import { CsrfInput } from "~/components/csrf-input";
import { FormMessage } from "~/components/field";
import { auditActor } from "~/domain/audit/audit.server";
import { jobQueueSummary, retryFailedJobs, runJobNow } from "~/domain/jobs/job-summary.server";
import { storageTiersStatus } from "~/domain/storage-tiers/status.server";
import { formatAge, formatBytes, formatDate } from "~/lib/format";
import { field, parseForm } from "~/route-helpers/forms.server";
import { requireAdmin } from "~/route-helpers/guards.server";
import { actionFailure, actionSuccess } from "~/route-helpers/http.server";
import { Button } from "~/components/ui/button";

export const meta: MetaFunction = () => [{ title: "Background jobs · Admin · Coffer" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { services } = context;
  await requireAdmin(services, request);
  const queues = await jobQueueSummary(services);
  const tiers = await storageTiersStatus(services);
  return data(
    {
      running: Boolean(services.jobs),
      tiers,
      queues: queues.map((queue) => ({
        ...queue,
        lastRunAt: queue.lastRunAt?.toISOString() ?? null,
        lastFailureAt: queue.lastFailureAt?.toISOString() ?? null,
        failed: queue.failed.map((job) => ({ ...job, failedAt: job.failedAt.toISOString() })),
      })),
    },
    { headers: { "Cache-Control": "no-store" } },
  );
}

const jobsForm = z.object({
  intent: field.oneOf(["retry", "run"]),
  queue: field.string(z.string().regex(/^[a-z0-9-]{1,64}$/, "Unknown job queue.")),
  jobId: z.preprocess(
    (value) => (typeof value === "string" && value !== "" ? value : undefined),
    z.string().uuid("Unknown job.").optional(),
  ),
});

export async function action({ request, context }: ActionFunctionArgs) {
  const { services } = context;
  const admin = await requireAdmin(services, request);
  try {
    const { intent, queue, jobId } = await parseForm(request, jobsForm);
    const actor = auditActor(request, context.clientIp, admin);
    if (intent === "run") {
      await runJobNow(services, actor, queue);
      return actionSuccess(`A run of ${queue} is queued.`);
    }
    const retried = await retryFailedJobs(services, actor, queue, jobId);
    return actionSuccess(`${retried} failed job${retried === 1 ? "" : "s"} of ${queue} queued again.`);
  } catch (error) {
    return actionFailure(error);
  }
}

export default function AdminJobs() {
  const { running, queues, tiers } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const busy = useNavigation().state === "submitting";
  return (
    <div className="space-y-6">
      <AdminHeader title="Background jobs" current="/admin/jobs">
        <p className="mt-1 text-sm text-text-muted">
          Queued in the database: every instance takes jobs from the same queues. A failed job is retried three times, then kept here for 7
          days. Times are UTC.
        </p>
      </AdminHeader>
      <FormMessage message={result?.message} tone={result ? (result.ok ? "success" : "error") : "success"} />
      {!running ? (
        <p className="text-sm text-text-muted" data-testid="jobs-not-running">
          Background jobs are not running on this instance yet.
        </p>
      ) : null}
      <Card as="section" padding="none" className="overflow-x-auto" aria-labelledby="queues-heading">
        <h2 id="queues-heading" className="border-b border-border px-4 py-3 font-semibold">
          Queues
        </h2>
        <table className="w-full text-left text-sm">
          <thead className="bg-surface text-text-muted">
            <tr>
              <th scope="col" className="px-4 py-2">
                Job
              </th>
              <th scope="col" className="px-4 py-2">
                Waiting
              </th>
              <th scope="col" className="px-4 py-2">
                Last run
              </th>
              <th scope="col" className="px-4 py-2">
                Failures (24 h)
              </th>
              <th scope="col" className="px-4 py-2">
                Last failure
              </th>
              <th scope="col" className="px-4 py-2">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {queues.map((queue) => (
              <tr key={queue.name} className="border-t border-border align-top" data-testid={`queue-${queue.name}`}>
                <th scope="row" className="px-4 py-2 font-medium">
                  {queue.label}
                  <span className="block font-normal text-text-muted">
                    {queue.name}
                    {queue.schedule ? ` · cron ${queue.schedule}` : ""}
                  </span>
                </th>
                <td className="px-4 py-2">
                  {queue.backlog}
                  {queue.backlog > 0 ? <span className="block text-text-muted">oldest {formatAge(queue.oldestWaitingSeconds)}</span> : null}
                </td>
                <td className="px-4 py-2">{queue.lastRunAt ? formatDate(queue.lastRunAt) : "Not yet"}</td>
                <td className="px-4 py-2">{queue.failures24h}</td>
                <td className="px-4 py-2">
                  {queue.lastFailureAt ? (
                    <>
                      {formatDate(queue.lastFailureAt)}
                      <span className="block break-words text-text-muted">{queue.lastFailureMessage}</span>
                    </>
                  ) : (
                    "None"
                  )}
                </td>
                <td className="px-4 py-2">
                  <div className="flex flex-wrap gap-2">
                    {queue.schedule ? (
                      <Form method="post">
                        <CsrfInput />
                        <input type="hidden" name="intent" value="run" />
                        <input type="hidden" name="queue" value={queue.name} />
                        <Button variant="secondary" type="submit" disabled={busy}>
                          Run now<span className="sr-only">: {queue.label}</span>
                        </Button>
                      </Form>
                    ) : null}
                    {queue.failed.length > 0 ? (
                      <Form method="post">
                        <CsrfInput />
                        <input type="hidden" name="intent" value="retry" />
                        <input type="hidden" name="queue" value={queue.name} />
                        <Button variant="secondary" type="submit" disabled={busy}>
                          Retry all<span className="sr-only"> failed jobs of {queue.label}</span>
                        </Button>
                      </Form>
                    ) : null}
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Card>
      {tiers.migration || tiers.cold ? (
        <Card
          as="section"
          padding="none"
          className="space-y-2 px-4 py-3 text-sm"
          aria-labelledby="tiers-heading"
          data-testid="storage-tiers"
        >
          <h2 id="tiers-heading" className="font-semibold">
            Storage tiers
          </h2>
          {tiers.migration ? (
            <p data-testid="storage-migration">
              {!tiers.migration.started
                ? "Storage migration: waiting for its first run."
                : tiers.migration.finishedAt
                  ? `Storage migration done: ${tiers.migration.movedObjects} objects (${formatBytes(tiers.migration.movedBytes)}) moved from ${tiers.migration.from}. Remove STORAGE_MIGRATE_FROM and restart.`
                  : `Storage migration: ${tiers.migration.movedObjects} of ${tiers.migration.movedObjects + tiers.migration.remainingObjects} objects moved (${formatBytes(tiers.migration.movedBytes)}), ${tiers.migration.remainingObjects} left (${formatBytes(tiers.migration.remainingBytes)})${tiers.migration.failedObjects > 0 ? `, ${tiers.migration.failedObjects} failed in the last run` : ""}.`}
            </p>
          ) : null}
          {tiers.cold ? <p data-testid="cold-tier">{`Cold tier: ${tiers.cold.files} files and ${tiers.cold.versions} versions.`}</p> : null}
        </Card>
      ) : null}
      {queues.some((queue) => queue.failed.length > 0) ? (
        <Card as="section" padding="none" className="overflow-x-auto" aria-labelledby="failed-heading">
          <h2 id="failed-heading" className="border-b border-border px-4 py-3 font-semibold">
            Failed jobs
          </h2>
          <ul className="divide-y divide-border text-sm">
            {queues.flatMap((queue) =>
              queue.failed.map((job) => (
                <li key={job.id} className="flex flex-wrap items-start justify-between gap-3 px-4 py-2" data-testid={`failed-${job.id}`}>
                  <div>
                    <span className="font-medium">{queue.label}</span> · failed {formatDate(job.failedAt)}
                    <span className="block break-words text-text-muted">{job.message}</span>
                  </div>
                  <Form method="post">
                    <CsrfInput />
                    <input type="hidden" name="intent" value="retry" />
                    <input type="hidden" name="queue" value={queue.name} />
                    <input type="hidden" name="jobId" value={job.id} />
                    <Button variant="secondary" type="submit" disabled={busy}>
                      Retry<span className="sr-only"> this failed job of {queue.label}</span>
                    </Button>
                  </Form>
                </li>
              )),
            )}
          </ul>
        </Card>
      ) : null}
    </div>
  );
}
