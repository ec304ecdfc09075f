import { Form } from "@remix-run/react";
import { CsrfInput } from "~/components/csrf-input";
import { formatBytes, formatDate } from "~/lib/format";

type Version = { id: string; size: number; createdAt: string | Date; replacedAt: string | Date };

/** A file's earlier contents, newest first, each downloadable and (with write access) restorable. */
export function VersionsSection({
  fileName,
  versions,
  versionsKept,
  versionRetentionDays = null,
  canWrite,
  restoring,
}: {
  fileName: string;
  versions: Version[];
  /** The most versions kept; null = no limit. */
  versionsKept: number | null;
  /** Days a version is kept after it was replaced; null = however old. */
  versionRetentionDays?: number | null;
  canWrite: boolean;
  restoring: boolean;
}) {
  return (
    <section aria-labelledby="versions-heading" className="card overflow-x-auto p-4">
      <h2 id="versions-heading" className="text-lg font-semibold">
        Versions
      </h2>
      <p className="mt-1 text-sm text-slate-600">
        When this file is replaced, its earlier content is kept here ({keptVersions(versionsKept, versionRetentionDays)}).
      </p>
      {versions.length === 0 ? (
        <p className="mt-3 text-sm">No earlier versions.</p>
      ) : (
        <table className="mt-3 w-full text-left text-sm">
          <caption className="sr-only">Earlier versions of {fileName}, newest first</caption>
          <thead className="border-b border-slate-200 text-slate-700">
            <tr>
              <th scope="col" className="py-2 pr-4 font-medium">
                Saved
              </th>
              <th scope="col" className="py-2 pr-4 font-medium">
                Replaced
              </th>
              <th scope="col" className="py-2 pr-4 font-medium">
                Size
              </th>
              <th scope="col" className="py-2 font-medium">
                Actions
              </th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {versions.map((version) => (
              <tr key={version.id}>
                <td className="py-2 pr-4">{formatDate(version.createdAt)}</td>
                <td className="py-2 pr-4">{formatDate(version.replacedAt)}</td>
                <td className="py-2 pr-4 whitespace-nowrap">{formatBytes(version.size)}</td>
                <td className="flex flex-wrap gap-2 py-2">
                  <a href={`/download/version/${version.id}`} className="btn-secondary" download>
                    Download<span className="sr-only"> the version saved {formatDate(version.createdAt)}</span>
                  </a>
                  {canWrite ? (
                    <Form method="post">
                      <CsrfInput />
                      <input type="hidden" name="intent" value="restore-version" />
                      <input type="hidden" name="versionId" value={version.id} />
                      <button type="submit" className="btn-secondary" disabled={restoring}>
                        Restore<span className="sr-only"> the version saved {formatDate(version.createdAt)}</span>
                      </button>
                    </Form>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** "the 10 most recent", "all of them, each for 90 days"… */
function keptVersions(limit: number | null, days: number | null): string {
  const count = limit === null ? "all of them" : `the ${limit} most recent`;
  return days === null ? count : `${count}, each for ${days} day${days === 1 ? "" : "s"} after it was replaced`;
}
