const UNSAFE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/**
 * A tiny cookie-keeping HTTP client, acting like a browser without JavaScript: plain form
 * posts and links, redirects not followed so tests can see them. Unsafe requests carry this
 * browser's CSRF token in the X-CSRF-Token header (set `sendCsrfToken = false` to test refusals;
 * tests/csrf.test.ts covers the token as a form field, the way forms send it).
 */
export class TestClient {
  cookies = new Map<string, string>();
  sendCsrfToken = true;
  private csrfToken: string | null = null;

  /** `send` makes the requests (e.g. tests/support/proxy.ts `behindProxy`, which sets Host); fetch by default. */
  constructor(
    readonly baseUrl: string,
    private readonly send: (url: URL, init: RequestInit) => Promise<Response> = fetch,
  ) {}

  /**
   * The token the app's pages embed for this browser (fetched once from a page; `headers` go
   * with that page request, e.g. an X-Forwarded-For address in rate-limit tests).
   */
  async getCsrfToken(headers: Record<string, string> = {}): Promise<string | null> {
    if (this.csrfToken) return this.csrfToken;
    // Any page with a form has it: the login form, or My files once logged in.
    for (const path of ["/login", "/files"]) {
      const page = await this.request(path, { headers });
      const match = /name="_csrf" value="([A-Za-z0-9_-]+)"/.exec(await page.text());
      if (match) return (this.csrfToken = match[1]);
    }
    // Not a Coffer server (e.g. an identity provider in the SSO tests): send no token.
    return null;
  }

  get cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
  }

  async request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (
      this.sendCsrfToken &&
      UNSAFE_METHODS.has((init.method ?? "GET").toUpperCase()) &&
      !headers.has("x-csrf-token") &&
      !new URL(path, this.baseUrl).pathname.startsWith("/api/uploads")
    ) {
      const token = await this.getCsrfToken();
      if (token) headers.set("x-csrf-token", token);
    }
    if (this.cookies.size > 0) headers.set("cookie", this.cookieHeader);
    const response = await this.send(new URL(path, this.baseUrl), { ...init, headers, redirect: "manual" });
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(";");
      const index = pair.indexOf("=");
      const name = pair.slice(0, index).trim();
      const value = pair.slice(index + 1).trim();
      const expired = attributes.some((a) => /max-age=0/i.test(a.trim()) || /expires=thu, 01 jan 1970/i.test(a.trim()));
      // A new CSRF cookie (renewed at login) comes with a new token on the next page.
      if (/_csrf$/.test(name) && this.cookies.get(name) !== value) this.csrfToken = null;
      if (expired || value === "") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }

  get(path: string, headers: Record<string, string> = {}) {
    return this.request(path, { headers });
  }

  postForm(path: string, fields: Record<string, string>) {
    return this.request(path, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(fields).toString(),
    });
  }

  postMultipart(path: string, form: FormData) {
    return this.request(path, { method: "POST", body: form });
  }

  async register(name: string, email: string, password = "correct horse battery staple") {
    const response = await this.postForm("/register", { name, email, password });
    if (response.status !== 302) throw new Error(`registration failed: ${response.status} ${await response.text()}`);
    return response;
  }

  async login(email: string, password = "correct horse battery staple") {
    return this.postForm("/login", { email, password });
  }
}
