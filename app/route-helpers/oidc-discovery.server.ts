import type * as oidc from "openid-client";
import type { OidcConfig } from "~/config.server";
import type { Logger } from "~/services/logger.server";
import { OidcLoginError } from "~/domain/accounts/oidc.server";

const PROVIDER_TIMEOUT_SECONDS = 10;

/** openid-client is loaded on first use: most installations have no single sign-on. */
export const openidClient = () => import("openid-client");

// One discovery cache per process, although copies of this module can coexist in one process (Vite re-evaluates edited modules in development; the tests load the app's sources beside the build).
const DISCOVERY_CACHE = Symbol.for("coffer.oidc.discovery");
type DiscoveryCache = Map<string, Promise<oidc.Configuration>>;
const globalCache = globalThis as unknown as { [DISCOVERY_CACHE]?: DiscoveryCache };

/**
 * The provider's metadata, fetched once per process. A failed discovery is not cached, so the
 * next login retries as soon as the provider is back.
 */
export function discoverProvider(config: OidcConfig, log: Logger): Promise<oidc.Configuration> {
  const cache = (globalCache[DISCOVERY_CACHE] ??= new Map());
  const key = JSON.stringify([config.issuer, config.clientId, config.clientSecret]);
  let pending = cache.get(key);
  if (!pending) {
    const issuer = new URL(config.issuer);
    pending = openidClient()
      .then((client) =>
        client.discovery(issuer, config.clientId, undefined, client.ClientSecretBasic(config.clientSecret), {
          timeout: PROVIDER_TIMEOUT_SECONDS,
          // A plain-HTTP issuer is the administrator's explicit choice (a provider on the same host or LAN).
          execute: issuer.protocol === "http:" ? [client.allowInsecureRequests] : [],
        }),
      )
      .catch((error: unknown) => {
        cache.delete(key);
        log.warn("OIDC discovery failed", { issuer: config.issuer, error: describeError(error) });
        throw new OidcLoginError(
          503,
          "provider_unreachable",
          `The sign-in provider (${issuer.host}) cannot be reached right now. Please try again in a few minutes; if it keeps failing, tell your administrator.`,
        );
      });
    cache.set(key, pending);
  }
  return pending;
}

/** Only for tests that restart a provider at the same address. */
export function forgetDiscoveredProviders(): void {
  globalCache[DISCOVERY_CACHE]?.clear();
}

/** Error text for logs without tokens: openid-client errors carry no secrets in name/message/code. */
export function describeError(error: unknown): string {
  const e = error as { name?: string; message?: string; code?: string; error?: string; cause?: { message?: string; code?: string } } | null;
  return [e?.name, e?.code, e?.error, e?.message, e?.cause?.code ?? e?.cause?.message].filter(Boolean).join(": ");
}
