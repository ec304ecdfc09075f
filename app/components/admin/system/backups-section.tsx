import { Card } from "~/components/ui/card";
import type { SerializeFrom } from "@remix-run/node";
import { Link } from "@remix-run/react";
import type { BackupRunView, BackupStatus } from "~/domain/backup/status.server";
import { formatBytes, formatDate } from "~/lib/format";

type Status = SerializeFrom<BackupStatus>;
type Run = SerializeFrom<BackupRunView>;

const RESULT: Record<Run["status"], { text: string; tone: string }> = {
  running: { text: "Running", tone: "text-text-muted" },
  succeeded: { text: "Succeeded", tone: "text-success" },
  failed: { text: "Failed", tone: "text-danger" },
  interrupted: { text: "Interrupted (the process running it stopped)", tone: "text-danger" },
};

const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? "" : "s"}`;

/** "1 h 4 min", "3 min 20 s", "12 s". */
export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

function Row({ name, children, testId }: { name: string; children: React.ReactNode; testId?: string }) {
  return (
    <div className="contents">
      <dt className="font-medium">{name}</dt>
      <dd className="break-words" data-testid={testId}>
        {children}
      </dd>
    </div>
  );
}

function Result({ run }: { run: Run }) {
  const result = RESULT[run.status];
  return (
    <>
      <span className={`font-medium ${result.tone}`}>{result.text}</span>
      {run.error ? <span>: {run.error}</span> : null}
    </>
  );
}

/** The "Backups" section of /admin/system: the last backup and verification, the next runs. */
export function BackupsSection({ status }: { status: Status }) {
  return (
    <Card as="section" padding="none" aria-labelledby="backups-heading" data-testid="backups">
      <h2 id="backups-heading" className="border-b border-border px-4 py-3 font-semibold">
        Backups
      </h2>
      {status.configured ? <Configured status={status} /> : <NotConfigured />}
    </Card>
  );
}

function NotConfigured() {
  return (
    <div className="space-y-2 px-4 py-3 text-sm" data-testid="backups-off">
      <p>
        <strong className="font-medium text-danger">Backups are off:</strong> no backup target is set, so a lost disk or a bad migration
        loses everything.
      </p>
      <p>
        To turn them on, set <code>BACKUP_DIR</code> (a directory on another disk) or <code>BACKUP_S3_BUCKET</code>, and a{" "}
        <code>BACKUP_KEY</code> kept apart from the server, then restart Coffer. Guide: <code>docs/backups.md</code>; restoring onto a new
        machine: <code>docs/disaster-recovery.md</code>.
      </p>
    </div>
  );
}

function Configured({ status }: { status: Extract<Status, { configured: true }> }) {
  const { lastBackup, lastGoodBackup, lastVerify } = status;
  return (
    <dl className="grid grid-cols-[max-content_1fr] gap-x-6 gap-y-2 px-4 py-3 text-sm">
      <Row name="Target">{status.target}</Row>
      <Row name="Last backup" testId="backup-last">
        {lastBackup ? (
          <>
            {formatDate(lastBackup.startedAt)} · <Result run={lastBackup} />
            {lastBackup.status === "succeeded" ? (
              <>
                {" "}
                · {formatBytes(lastBackup.bytes ?? 0)} written in {formatDuration(lastBackup.durationSeconds ?? 0)}
                {lastBackup.objectsCopied !== null ? ` (${plural(lastBackup.objectsCopied, "new object")})` : null}
                {lastBackup.backupId ? (
                  <>
                    {" "}
                    · id <code>{lastBackup.backupId}</code>
                  </>
                ) : null}
              </>
            ) : null}
          </>
        ) : (
          <>
            None yet: the first runs on the schedule below, or now with <code>npx coffer backup</code> on the server.
          </>
        )}
      </Row>
      {lastGoodBackup ? (
        <Row name="Last good backup" testId="backup-last-good">
          {formatDate(lastGoodBackup.startedAt)} · {formatBytes(lastGoodBackup.bytes ?? 0)}
          {lastGoodBackup.backupId ? (
            <>
              {" "}
              · id <code>{lastGoodBackup.backupId}</code>
            </>
          ) : null}
        </Row>
      ) : null}
      <Row name="Last verification" testId="backup-verify-last">
        {lastVerify ? (
          <>
            {formatDate(lastVerify.startedAt)} · <Result run={lastVerify} />
            {lastVerify.status === "succeeded" && lastVerify.backupId ? (
              <>
                {" "}
                · backup <code>{lastVerify.backupId}</code> restored and matched its manifest
              </>
            ) : null}
          </>
        ) : (
          <>
            None yet: a verification restores the latest backup into a scratch instance (or run <code>npx coffer verify</code>).
          </>
        )}
      </Row>
      <Row name="Next backup" testId="backup-next">
        {status.nextBackupAt ? formatDate(status.nextBackupAt) : "Never"} <span className="text-text-muted">({status.schedule} UTC)</span>
      </Row>
      <Row name="Next verification" testId="backup-verify-next">
        {status.nextVerifyAt && status.verifySchedule ? (
          <>
            {formatDate(status.nextVerifyAt)} <span className="text-text-muted">({status.verifySchedule} UTC)</span>
          </>
        ) : (
          "Off (BACKUP_VERIFY_SCHEDULE=off)"
        )}
      </Row>
      <Row name="Retention" testId="backup-retention">
        {status.keep.daily} daily, {status.keep.weekly} weekly, {status.keep.monthly} monthly
        {status.backupsRetained !== null ? ` · ${plural(status.backupsRetained, "backup")} kept after the last prune` : null}
      </Row>
    </dl>
  );
}

/** One line for the admin home: is there a recent backup, and where to see more. */
export function BackupLine({ status }: { status: Status }) {
  let text: string;
  if (!status.configured) text = "Backups are off: no backup target is set.";
  else if (!status.lastBackup) text = "No backup has run yet.";
  else {
    const run = status.lastBackup;
    const good = status.lastGoodBackup;
    text = `Last backup ${formatDate(run.startedAt)}: ${RESULT[run.status].text.toLowerCase()}`;
    if (run.status === "succeeded") text += `, ${formatBytes(run.bytes ?? 0)}.`;
    else text += good ? `; the last good one is from ${formatDate(good.startedAt)}.` : "; no backup has succeeded yet.";
  }
  return (
    <p className="mt-1 text-sm text-text-muted" data-testid="backup-status">
      {text}{" "}
      <Link to="/admin/system#backups-heading" className="text-accent-text underline hover:text-accent-text">
        Backups
      </Link>
    </p>
  );
}
