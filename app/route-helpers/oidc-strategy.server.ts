import { createCookie, redirect, type Cookie } from "@remix-run/node";
import type * as oidc from "openid-client";
import { Strategy } from "remix-auth/strategy";
import { z } from "zod";
import type { OidcConfig } from "~/config.server";
import type { Logger } from "~/services/logger.server";
import { OidcLoginError, type OidcVerifyParams } from "~/domain/accounts/oidc.server";
import { describeError, discoverProvider, openidClient } from "./oidc-discovery.server";

export interface OidcStrategyOptions {
  config: OidcConfig;
  /** Absolute URL of /auth/oidc/callback, registered at the provider. */
  redirectUri: string;
  /** Signs the short-lived cookie that carries state, nonce and PKCE verifier to the callback. */
  cookieSecret: string;
  secureCookie: boolean;
  log: Logger;
  /** Validates `redirectTo` from the start URL so the callback can only go to same-site paths. */
  safeRedirect: (target: string | null) => string;
  /**
   * Starts a confirmation of a signed-in person instead of a login: the provider is asked to
   * authenticate them again (`prompt=login`, `max_age=0`), then the browser returns to `returnTo`.
   */
  reauth?: { session: string; returnTo: string };
}

const TRANSACTION_COOKIE = "coffer_oidc";
const TRANSACTION_TTL_SECONDS = 10 * 60;

const transactionSchema = z.object({
  state: z.string().min(1),
  nonce: z.string().min(1),
  verifier: z.string().min(1),
  redirectTo: z.string(),
  reauthSession: z.string().min(1).optional(),
});

/**
 * The provider's answer on the callback URL (RFC 6749 §4.1.2 and §4.1.2.1): a code and the state,
 * or an error code, which is ASCII without quotes or backslashes.
 */
const callbackQuerySchema = z.object({
  state: z.string().max(1024).optional(),
  code: z.string().max(4096).optional(),
  error: z
    .string()
    .max(128)
    .regex(/^[\x20\x21\x23-\x5b\x5d-\x7e]+$/)
    .optional(),
});

function readCallbackQuery(url: URL): z.infer<typeof callbackQuerySchema> | null {
  const parsed = callbackQuerySchema.safeParse({
    state: url.searchParams.get("state") ?? undefined,
    code: url.searchParams.get("code") ?? undefined,
    error: url.searchParams.get("error") ?? undefined,
  });
  return parsed.success ? parsed.data : null;
}

/**
 * OpenID Connect login as a remix-auth strategy: the authorization code flow with PKCE (S256),
 * state and nonce. On the start URL it throws a redirect to the provider; on the callback URL it
 * checks the answer, exchanges the code, validates the ID token and hands the claims to `verify`.
 */
export class OidcStrategy<User> extends Strategy<User, OidcVerifyParams> {
  name = "oidc";

  constructor(
    private readonly options: OidcStrategyOptions,
    verify: Strategy.VerifyFunction<User, OidcVerifyParams>,
  ) {
    super(verify);
  }

  private get cookie(): Cookie {
    return createCookie(TRANSACTION_COOKIE, {
      httpOnly: true,
      // Lax: the provider's redirect back is a top-level GET navigation, which still carries it.
      sameSite: "lax",
      secure: this.options.secureCookie,
      path: "/auth/oidc",
      maxAge: TRANSACTION_TTL_SECONDS,
      secrets: [this.options.cookieSecret],
    });
  }

  /** The Set-Cookie header that removes the transaction cookie once the callback has used it. */
  clearTransactionCookie(): Promise<string> {
    return this.cookie.serialize("", { maxAge: 0 });
  }

  async authenticate(request: Request): Promise<User> {
    const url = new URL(request.url);
    if (url.pathname === new URL(this.options.redirectUri).pathname) return this.callback(request, url);
    throw await this.start(url);
  }

  /** Whether the browser's pending transaction is a login or a confirmation, and where it returns to; null without one. */
  async pendingTransaction(request: Request): Promise<{ purpose: "login" | "reauth"; redirectTo: string } | null> {
    const stored = transactionSchema.safeParse(await this.cookie.parse(request.headers.get("cookie")).catch(() => null));
    if (!stored.success) return null;
    return { purpose: stored.data.reauthSession ? "reauth" : "login", redirectTo: stored.data.redirectTo };
  }

  private async start(url: URL): Promise<Response> {
    const provider = await discoverProvider(this.options.config, this.options.log);
    const client = await openidClient();
    const verifier = client.randomPKCECodeVerifier();
    const reauth = this.options.reauth;
    const transaction = {
      state: client.randomState(),
      nonce: client.randomNonce(),
      verifier,
      redirectTo: reauth ? reauth.returnTo : this.options.safeRedirect(url.searchParams.get("redirectTo")),
      ...(reauth ? { reauthSession: reauth.session } : {}),
    };
    const authorizationUrl = client.buildAuthorizationUrl(provider, {
      redirect_uri: this.options.redirectUri,
      scope: this.options.config.scopes,
      state: transaction.state,
      nonce: transaction.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
      // A confirmation must not be answered from the provider's own session: ask for the login again.
      ...(reauth ? { prompt: "login", max_age: "0" } : {}),
    });
    return redirect(authorizationUrl.href, { headers: { "Set-Cookie": await this.cookie.serialize(transaction) } });
  }

  private async callback(request: Request, url: URL): Promise<User> {
    const stored = transactionSchema.safeParse(await this.cookie.parse(request.headers.get("cookie")).catch(() => null));
    // A confirmation fails without ending anything: its error page leads back to where the person
    // was (and says so), so only a login's messages send them to the login page.
    const reauth = stored.success && stored.data.reauthSession !== undefined;
    const again = reauth ? "" : " Please start again from the login page.";
    const answer = readCallbackQuery(url);
    if (!answer) {
      throw new OidcLoginError(400, "malformed_callback", `The sign-in provider's answer could not be read.${again}`);
    }
    const providerError = answer.error;
    if (providerError) {
      const cancelled = providerError === "access_denied";
      throw new OidcLoginError(
        cancelled ? 401 : 502,
        `provider_error:${providerError.slice(0, 64)}`,
        cancelled
          ? reauth
            ? "The confirmation was cancelled or refused at the sign-in provider, so Coffer could not confirm it's you."
            : "Sign-in was cancelled or refused at the sign-in provider. You can start again from the login page."
          : `The sign-in provider answered with an error (${providerError.slice(0, 64)}).${again} If it keeps failing, tell your administrator.`,
      );
    }
    if (!stored.success) {
      throw new OidcLoginError(
        400,
        "missing_transaction",
        "This sign-in attempt has expired or was started in another browser. Please start again from the login page.",
      );
    }
    const transaction = stored.data;
    if (answer.state !== transaction.state) {
      throw new OidcLoginError(
        400,
        "state_mismatch",
        `This answer from the sign-in provider does not belong to the ${reauth ? "confirmation" : "sign-in"} you started.${again}`,
      );
    }
    const provider = await discoverProvider(this.options.config, this.options.log);
    const client = await openidClient();

    // The provider checks the code against the redirect URI it was issued for: rebuild that URI
    // (the request URL may differ behind a proxy) with the provider's query parameters.
    const currentUrl = new URL(this.options.redirectUri);
    currentUrl.search = url.search;
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await client.authorizationCodeGrant(provider, currentUrl, {
        pkceCodeVerifier: transaction.verifier,
        expectedState: transaction.state,
        expectedNonce: transaction.nonce,
        idTokenExpected: true,
      });
    } catch (error) {
      throw this.providerFailure(client, "token exchange", error, again);
    }
    const idToken = tokens.claims();
    if (!idToken) throw new OidcLoginError(502, "no_id_token", "The sign-in provider did not send an ID token. Tell your administrator.");

    let claims: Record<string, unknown> = idToken;
    // Many providers put email and profile claims only in the userinfo response.
    if (typeof idToken.email !== "string" && tokens.access_token) {
      try {
        claims = { ...(await client.fetchUserInfo(provider, tokens.access_token, idToken.sub)), ...idToken };
      } catch (error) {
        throw this.providerFailure(client, "userinfo", error, again);
      }
    }
    return this.verify({
      request,
      redirectTo: transaction.redirectTo,
      reauthSession: transaction.reauthSession ?? null,
      authTime: typeof idToken.auth_time === "number" ? idToken.auth_time : null,
      claims: {
        issuer: provider.serverMetadata().issuer,
        subject: idToken.sub,
        email: typeof claims.email === "string" ? claims.email.trim().toLowerCase() : null,
        // Some providers send the string "true".
        emailVerified: claims.email_verified === true || claims.email_verified === "true",
        name: typeof claims.name === "string" && claims.name.trim() ? claims.name.trim().slice(0, 100) : null,
      },
    });
  }

  private providerFailure(client: typeof oidc, step: string, error: unknown, again: string): OidcLoginError {
    this.options.log.warn(`OIDC ${step} failed`, { issuer: this.options.config.issuer, error: describeError(error) });
    if (error instanceof client.ResponseBodyError) {
      return new OidcLoginError(
        502,
        `provider_rejected:${error.error.slice(0, 64)}`,
        `The sign-in provider did not accept this sign-in (it may have expired or been used already).${again}`,
      );
    }
    if (isNetworkError(error)) {
      return new OidcLoginError(
        503,
        "provider_unreachable",
        "The sign-in provider cannot be reached right now. Please try again in a few minutes.",
      );
    }
    return new OidcLoginError(
      502,
      "invalid_provider_response",
      `Coffer could not verify the sign-in provider's answer.${again} If it keeps failing, tell your administrator.`,
    );
  }
}

function isNetworkError(error: unknown): boolean {
  const e = error as { name?: string; message?: string; cause?: unknown } | null;
  return (
    e?.message === "fetch failed" ||
    e?.name === "TimeoutError" ||
    e?.name === "AbortError" ||
    (e?.cause !== undefined && isNetworkError(e.cause))
  );
}
