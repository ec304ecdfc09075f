import type { IncomingMessage, ServerResponse } from "node:http";
import { recordServerResponse } from "~/services/server-errors.server";
import { routeGroup } from "./metrics-endpoint.server";

/**
 * Counts every 5xx the HTTP server answers, by route class, for the admin's system page (also
 * without METRICS_TOKEN). Install as a "request" listener after Socket.IO has attached.
 */
export function recordServerErrors(staticFiles: ReadonlySet<string>): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    res.once("close", () => {
      // A client that left before any answer was sent got no status from us.
      if (!res.headersSent || res.statusCode < 500) return;
      recordServerResponse(routeGroup(req.method ?? "GET", req.url ?? "/", staticFiles), res.statusCode);
    });
  };
}
