import { generateKeyPairSync, randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import Provider from "oidc-provider";

/**
 * A real OpenID Connect provider (npm `oidc-provider`) for tests, on 127.0.0.1 and a free port,
 * with one confidential client that must use PKCE, and a login and consent page of its own that
 * a test drives like a browser. Shared by vitest and Playwright, so it imports neither.
 */

export interface TestOidcUser {
  email: string | null;
  emailVerified: boolean;
  name: string;
}

export interface TestOidcProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Accounts by login name (the subject is `sub-<login>`); add to it at any time. */
  users: Map<string, TestOidcUser>;
  /** The OIDC_* variables for an app that uses this provider. */
  appEnv: Record<string, string>;
  /** Registers the client's redirect URIs; call once the apps' addresses are known. */
  registerRedirectUris(uris: string[]): void;
  close(): Promise<void>;
}

export async function startTestOidcProvider(): Promise<TestOidcProvider> {
  const users = new Map<string, TestOidcUser>();
  const clientId = "coffer-test";
  const clientSecret = randomBytes(24).toString("base64url");
  let provider: Provider | null = null;

  const server = http.createServer((req, res) => {
    if (!provider) {
      res.writeHead(503).end("client not registered yet");
      return;
    }
    if (req.url?.startsWith("/interaction/")) {
      interaction(provider, users, req, res).catch((error: Error) => {
        res.writeHead(500, { "content-type": "text/plain" }).end(`interaction failed: ${error.message}`);
      });
      return;
    }
    provider.callback()(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });

  return {
    issuer,
    clientId,
    clientSecret,
    users,
    appEnv: { OIDC_ISSUER: issuer, OIDC_CLIENT_ID: clientId, OIDC_CLIENT_SECRET: clientSecret, OIDC_BUTTON_LABEL: "Sign in with Test IdP" },
    registerRedirectUris(uris) {
      provider = new Provider(issuer, {
        clients: [
          {
            client_id: clientId,
            client_secret: clientSecret,
            redirect_uris: uris,
            grant_types: ["authorization_code"],
            response_types: ["code"],
            token_endpoint_auth_method: "client_secret_basic",
          },
        ],
        pkce: { required: () => true },
        features: { devInteractions: { enabled: false } },
        interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
        claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
        jwks: { keys: [{ ...privateKey.export({ format: "jwk" }), kid: "test-key", alg: "RS256", use: "sig" }] },
        cookies: { keys: [randomBytes(16).toString("hex")] },
        ttl: { AccessToken: 600, AuthorizationCode: 60, Grant: 3600, IdToken: 600, Interaction: 600, Session: 3600 },
        findAccount: async (_ctx: unknown, id: string) => {
          const login = id.replace(/^sub-/, "");
          const user = users.get(login);
          if (!user) return undefined;
          return {
            accountId: id,
            claims: async () => ({
              sub: id,
              name: user.name,
              ...(user.email === null ? {} : { email: user.email, email_verified: user.emailVerified }),
            }),
          };
        },
      });
      // Errors the provider renders to the browser are enough; keep the test output clean.
      provider.on("server_error", () => {});
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const page = (title: string, body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><main><h1>${title}</h1>${body}</main></body></html>`;

async function interaction(provider: Provider, users: Map<string, TestOidcUser>, req: http.IncomingMessage, res: http.ServerResponse) {
  const details = await provider.interactionDetails(req, res);
  const uid = details.uid;
  if (req.method === "GET") {
    const body =
      details.prompt.name === "login"
        ? `<form method="post" action="/interaction/${uid}/login"><label for="login">Username</label> <input id="login" name="login" required> <button type="submit">Sign in</button></form>`
        : `<p>Coffer wants to know your email address and name.</p><form method="post" action="/interaction/${uid}/confirm"><button type="submit">Allow</button></form>`;
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" }).end(page("Test IdP", body));
    return;
  }
  const form = new URLSearchParams(await readBody(req));
  if (req.url?.endsWith("/login")) {
    const login = form.get("login") ?? "";
    if (!users.has(login)) {
      res
        .writeHead(200, { "content-type": "text/html; charset=utf-8" })
        .end(page("Test IdP", `<p role="alert">Unknown user ${login.replace(/[<>&"]/g, "")}</p>`));
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: `sub-${login}` } }, { mergeWithLastSubmission: false });
    return;
  }
  const grant = details.grantId
    ? ((await provider.Grant.find(details.grantId)) ??
      new provider.Grant({ accountId: details.session!.accountId, clientId: details.params.client_id }))
    : new provider.Grant({ accountId: details.session!.accountId, clientId: details.params.client_id });
  if (details.prompt.details.missingOIDCScope) grant.addOIDCScope(details.prompt.details.missingOIDCScope.join(" "));
  if (details.prompt.details.missingOIDCClaims) grant.addOIDCClaims(details.prompt.details.missingOIDCClaims);
  await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      body += chunk;
      if (body.length > 10_000) req.destroy(new Error("body too large"));
    });
    req.on("end", () => resolve(body));
    req.on("error", reject);
  });
}
