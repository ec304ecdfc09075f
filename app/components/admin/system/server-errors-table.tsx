import { Card } from "~/components/ui/card";
import type { SystemReport } from "~/domain/admin/system.server";
import { ScrollRegion } from "./scroll-region";

/** The route classes of the metrics (routeGroup), in words. */
const ROUTE_NAMES: Record<string, string> = {
  page: "Pages",
  folder: "Folder pages",
  action: "Forms and actions",
  api: "API",
  tus: "Uploads (tus)",
  download: "Downloads",
  share: "Share links",
  static: "Static files",
  "socket.io": "Live updates (Socket.IO)",
  health: "Health checks",
  metrics: "Metrics",
};

export function ServerErrorsTable({ errors }: { errors: SystemReport["serverErrors"] }) {
  const scope =
    errors.scope === "all-instances"
      ? `Answers with a 5xx status on the ${errors.instanceCount === 1 ? "one live instance" : `${errors.instanceCount} live instances`} (each reports every 15 seconds), by kind of request.`
      : "Answers with a 5xx status on this instance, by kind of request. Other instances keep their own counts.";
  return (
    <Card as="section" padding="none" aria-labelledby="errors-heading">
      <h2 id="errors-heading" className="border-b border-border px-4 py-3 font-semibold">
        Recent server errors
      </h2>
      <p className="px-4 pt-3 text-sm text-text-muted">{scope} Counts start when an instance starts.</p>
      {errors.byRoute.length === 0 ? (
        <p className="px-4 py-3 text-sm" data-testid="no-server-errors">
          No server errors in the last 24 hours.
        </p>
      ) : (
        <>
          <ScrollRegion labelledBy="errors-heading">
            <table className="w-full text-left text-sm" data-testid="server-errors">
              <thead className="bg-surface text-text-muted">
                <tr>
                  <th scope="col" className="px-4 py-2 font-medium">
                    Requests
                  </th>
                  <th scope="col" className="px-4 py-2 text-right font-medium">
                    Last hour
                  </th>
                  <th scope="col" className="px-4 py-2 text-right font-medium">
                    Last 24 hours
                  </th>
                </tr>
              </thead>
              <tbody className="divide-y divide-border">
                {errors.byRoute.map((row) => (
                  <tr key={row.route} data-route={row.route}>
                    <th scope="row" className="px-4 py-2 font-medium">
                      {ROUTE_NAMES[row.route] ?? row.route}
                    </th>
                    <td className="px-4 py-2 text-right">{row.lastHour}</td>
                    <td className="px-4 py-2 text-right">{row.lastDay}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </ScrollRegion>
          <p className="px-4 py-3 text-sm text-text-muted">
            A 503 means a service was down (see Services above); any other 5xx is a bug: the server log has its details.
          </p>
        </>
      )}
    </Card>
  );
}
