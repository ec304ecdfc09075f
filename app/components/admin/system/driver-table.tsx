import { Card } from "~/components/ui/card";
import { ScrollRegion } from "./scroll-region";
import type { DriverStatus } from "~/domain/admin/system.server";

const SERVICE_NAMES: Record<DriverStatus["name"], string> = {
  database: "Database",
  storage: "File storage",
  search: "Search",
  cache: "Cache",
};

const CIRCUIT_TEXT: Record<NonNullable<DriverStatus["circuit"]>, string> = {
  closed: "Closed (requests pass)",
  open: "Open (requests refused at once)",
  "half-open": "Half-open (trying one request)",
};

/** What an administrator can do when a driver is down: which guide to read, what to check. */
const WHEN_DOWN: Record<DriverStatus["name"], string> = {
  database:
    "Pages, uploads and downloads answer 503 until the database answers again. Check that PostgreSQL is running and reachable from this server (DATABASE_URL); the embedded server restarts by itself. Guide: “PostgreSQL (embedded or external)” in docs/outages.md.",
  storage:
    "Uploads and downloads answer 503 until the store answers again; browsing still works. Check the S3 endpoint and its credentials, or that the storage directory is mounted and writable. Guide: “Object storage (S3 or local disk)” in docs/outages.md.",
  search:
    "Searching answers 503 until the search engine answers again; everything else works. Check that Meilisearch is running at MEILI_HOST. Guide: docs/search.md.",
  cache:
    "Uploads pause and passkey sign-in is unavailable until Redis answers again; pages and downloads work. Check that Redis is running at REDIS_URL. Guide: “Redis (cache)” in docs/outages.md.",
};

export function DriverTable({ drivers }: { drivers: DriverStatus[] }) {
  const down = drivers.filter((driver) => !driver.up);
  return (
    <Card as="section" padding="none" aria-labelledby="drivers-heading">
      <h2 id="drivers-heading" className="border-b border-border px-4 py-3 font-semibold">
        Services
      </h2>
      {down.length > 0 ? (
        <div role="alert" className="m-4 space-y-2 rounded-md border border-danger-border bg-danger-soft px-3 py-2 text-sm text-danger">
          {down.map((driver) => (
            <p key={driver.name}>
              <strong>{SERVICE_NAMES[driver.name]} is down.</strong> {WHEN_DOWN[driver.name]}
            </p>
          ))}
        </div>
      ) : null}
      <ScrollRegion labelledBy="drivers-heading">
        <table className="w-full text-left text-sm">
          <thead className="bg-surface text-text-muted">
            <tr>
              <th scope="col" className="px-4 py-2 font-medium">
                Service
              </th>
              <th scope="col" className="px-4 py-2 font-medium">
                Driver
              </th>
              <th scope="col" className="px-4 py-2 font-medium">
                Status
              </th>
              <th scope="col" className="px-4 py-2 font-medium">
                Circuit breaker
              </th>
              <th scope="col" className="px-4 py-2 text-right font-medium whitespace-nowrap">
                Check took
              </th>
            </tr>
          </thead>
          <tbody className="divide-y divide-border">
            {drivers.map((driver) => (
              <tr key={driver.name} data-testid={`driver-${driver.name}`}>
                <th scope="row" className="px-4 py-2 font-medium">
                  {SERVICE_NAMES[driver.name]}
                </th>
                <td className="px-4 py-2">
                  <span className="block">{driver.kind}</span>
                  <span className="block text-text-muted break-words">{driver.location}</span>
                </td>
                <td className="px-4 py-2">
                  {driver.up ? (
                    <span className="font-medium text-success">Up</span>
                  ) : (
                    <>
                      <span className="block font-medium text-danger">Down</span>
                      {driver.error ? <span className="block text-text-muted">{driver.error}</span> : null}
                    </>
                  )}
                </td>
                <td className="px-4 py-2">{driver.circuit ? CIRCUIT_TEXT[driver.circuit] : "None"}</td>
                <td className="px-4 py-2 text-right whitespace-nowrap" data-testid={`latency-${driver.name}`}>
                  {driver.ms} ms
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </ScrollRegion>
    </Card>
  );
}
