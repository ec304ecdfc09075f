import { Form } from "@remix-run/react";
import { CsrfInput } from "~/components/csrf-input";
import { Button, buttonClass } from "~/components/ui/button";
import { Table, Tbody, Td, Th, Thead } from "~/components/ui/table";
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
    <section aria-labelledby="versions-heading" className="space-y-3">
      <h2 id="versions-heading" className="text-lg font-semibold">
        Versions
      </h2>
      <p className="text-sm text-text-muted">
        When this file is replaced, its earlier content is kept here ({keptVersions(versionsKept, versionRetentionDays)}).
      </p>
      {versions.length === 0 ? (
        <p className="text-sm">No earlier versions.</p>
      ) : (
        <Table caption={`Earlier versions of ${fileName}, newest first`}>
          <Thead>
            <tr>
              <Th>Saved</Th>
              <Th>Replaced</Th>
              <Th>Size</Th>
              <Th>Actions</Th>
            </tr>
          </Thead>
          <Tbody>
            {versions.map((version) => (
              <tr key={version.id}>
                <Td>{formatDate(version.createdAt)}</Td>
                <Td>{formatDate(version.replacedAt)}</Td>
                <Td className="whitespace-nowrap">{formatBytes(version.size)}</Td>
                <Td>
                  <div className="flex flex-wrap gap-2">
                    <a href={`/download/version/${version.id}`} className={buttonClass("secondary", "sm")} download>
                      Download<span className="sr-only"> the version saved {formatDate(version.createdAt)}</span>
                    </a>
                    {canWrite ? (
                      <Form method="post">
                        <CsrfInput />
                        <input type="hidden" name="intent" value="restore-version" />
                        <input type="hidden" name="versionId" value={version.id} />
                        <Button type="submit" size="sm" disabled={restoring}>
                          Restore<span className="sr-only"> the version saved {formatDate(version.createdAt)}</span>
                        </Button>
                      </Form>
                    ) : null}
                  </div>
                </Td>
              </tr>
            ))}
          </Tbody>
        </Table>
      )}
    </section>
  );
}

/** "the 10 most recent", "all of them, each for 90 days"… */
function keptVersions(limit: number | null, days: number | null): string {
  const count = limit === null ? "all of them" : `the ${limit} most recent`;
  return days === null ? count : `${count}, each for ${days} day${days === 1 ? "" : "s"} after it was replaced`;
}
