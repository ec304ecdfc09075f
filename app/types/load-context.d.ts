import type { Services } from "~/services/index.server";

declare module "@remix-run/node" {
  interface AppLoadContext {
    services: Services;
    /** The client address as Express resolved it (honours TRUST_PROXY). */
    clientIp: string | null;
    /** This browser's CSRF token, which every form posts back as its first field (`_csrf`). */
    csrfToken: string;
    /** Gives this browser a new CSRF cookie with the response and sets `csrfToken` to its token (at sign-in). */
    renewCsrfToken: () => void;
    /** This response's Content-Security-Policy nonce: every inline script carries it. */
    cspNonce: string;
    /** Whether this request renders an HTML document (false for single-fetch `.data` requests). */
    rendersDocument: boolean;
    /** Texts for the HTML render only, by element id (see app/lib/page-text.server.ts). */
    pageTexts: Map<string, string>;
  }
}
