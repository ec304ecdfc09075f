import type { Services } from "~/services/index.server";

declare module "@remix-run/node" {
  interface AppLoadContext {
    services: Services;
    /** The client address as Express resolved it (honours TRUST_PROXY). */
    clientIp: string | null;
    /** This response's Content-Security-Policy nonce: every inline script carries it. */
    cspNonce: string;
  }
}

export {};
