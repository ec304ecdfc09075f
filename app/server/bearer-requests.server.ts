import type http from "node:http";
import { isBearerAuthorization } from "~/domain/tokens/tokens.server";

/**
 * A request that authenticates with an access token and carries no cookie at all. Only such
 * requests skip the same-origin and CSRF checks: those protect cookies a browser adds on its
 * own, and with no cookie there is nothing to ride on. A request with both is checked as a
 * cookie request (and authenticated by its token only), so no cookie rides along on an exemption.
 */
export function isBearerOnlyRequest(req: Pick<http.IncomingMessage, "headers">): boolean {
  return isBearerAuthorization(req.headers.authorization) && req.headers.cookie === undefined;
}
