/**
 * A tiny cookie-keeping HTTP client, acting like a browser without JavaScript: plain form
 * posts and links, redirects not followed so tests can see them.
 */
export class TestClient {
  cookies = new Map<string, string>();

  constructor(readonly baseUrl: string) {}

  get cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
  }

  async request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) headers.set("cookie", this.cookieHeader);
    const response = await fetch(new URL(path, this.baseUrl), { ...init, headers, redirect: "manual" });
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(";");
      const index = pair.indexOf("=");
      const name = pair.slice(0, index).trim();
      const value = pair.slice(index + 1).trim();
      const expired = attributes.some((a) => /max-age=0/i.test(a.trim()) || /expires=thu, 01 jan 1970/i.test(a.trim()));
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
