// The CSRF check (app/server/csrf.server.ts) in process, on a real HTTP server: bodies that arrive
// in pieces, end early or are cut off inside the first field, a malformed cookie, and renewing the
// cookie beside others set in the same response. csrf.test.ts covers the app's pages end to end.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { csrfProtection, renewCsrfCookie, tokenFor } from "~/server/csrf.server";
import type { Services } from "~/services/index.server";

// Production over HTTPS: the cookie is `__Host-` prefixed and Secure.
const services = {
  sessionSecret: "a-session-secret-of-thirty-two-chars!",
  config: { isProduction: true, servedOverHttps: true, appUrl: "https://coffer.example" },
} as unknown as Services;
const COOKIE = "__Host-coffer_csrf";
const cookieValue = "c".repeat(32);
const token = tokenFor(services, cookieValue);
const BOUNDARY = "XyZ";

interface Reply {
  status: number;
  body: string;
  setCookie: string[];
}

describe("CSRF check on a real server", () => {
  let server: http.Server;
  let port: number;

  beforeAll(async () => {
    const app = express();
    app.use(
      csrfProtection(services, {
        exempt: (path) => path === "/exempt",
        refuse: (_req, res, reason) => void res.status(403).send(reason),
      }),
    );
    app.post(["/echo", "/exempt"], async (req, res) => {
      const source = (res.locals.requestBody as AsyncIterable<Buffer> | undefined) ?? req;
      const chunks: Buffer[] = [];
      for await (const chunk of source) chunks.push(chunk);
      res.send(Buffer.concat(chunks).toString("latin1"));
    });
    app.get("/sign-in", (req, res) => {
      if (req.query.earlier === "string") res.setHeader("Set-Cookie", "theme=dark; Path=/");
      else res.append("Set-Cookie", "theme=dark; Path=/");
      const renewed = renewCsrfCookie(services, res);
      res.send(renewed === res.locals.csrfToken ? "renewed" : "mismatch");
    });
    server = app.listen(0);
    await new Promise((resolve) => server.once("listening", resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(() => new Promise((resolve) => server.close(resolve)));

  /** Sends the body in `parts`, pausing between them so each arrives as a chunk of its own. */
  function send(path: string, headers: http.OutgoingHttpHeaders, parts: string[], method = "POST"): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const req = http.request({ port, path, method, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString("latin1"), setCookie: res.headers["set-cookie"] ?? [] }),
        );
      });
      req.on("error", reject);
      void (async () => {
        for (const [index, part] of parts.entries()) {
          if (index > 0) await sleep(30);
          req.write(part);
        }
        req.end();
      })();
    });
  }

  const withCookie = (contentType: string, length?: number): http.OutgoingHttpHeaders => ({
    cookie: `theme=dark; ${COOKIE}=${cookieValue}`,
    "content-type": contentType,
    ...(length === undefined ? {} : { "content-length": length }),
  });
  const multipart = `multipart/form-data; boundary="${BOUNDARY}"`;
  const urlencoded = "application/x-www-form-urlencoded";

  it("reads a token that arrives in pieces and hands the app every byte of the body", async () => {
    const body = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="_csrf"\r\n\r\n${token}\r\n--${BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--${BOUNDARY}--\r\n`;
    // Cut before the boundary line, inside the part's headers and inside the value.
    const cuts = [2, 30, body.indexOf(token) + 5];
    const parts = [body.slice(0, cuts[0]), body.slice(cuts[0], cuts[1]), body.slice(cuts[1], cuts[2]), body.slice(cuts[2])];
    const reply = await send("/echo", withCookie(multipart, body.length), parts);
    expect(reply).toMatchObject({ status: 200, body });

    // Chunked, without a length: a lone field is complete only when the body ends.
    const field = `_csrf=${token}`;
    expect(await send("/echo", withCookie(urlencoded), [field.slice(0, 4), field.slice(4)])).toMatchObject({ status: 200, body: field });
  });

  it.each([
    ["no boundary line at all", "just some bytes"],
    ["the part's headers cut off", `--${BOUNDARY}\r\nContent-Disposition: form-data; name="_csrf"`],
    ["the value not closed by a boundary", `--${BOUNDARY}\r\nContent-Disposition: form-data; name="_csrf"\r\n\r\n${token}`],
    ["another field first", `--${BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--${BOUNDARY}--\r\n`],
  ])("refuses a multipart body with %s as having no token", async (_label, body) => {
    expect(await send("/echo", withCookie(multipart), [body])).toMatchObject({ status: 403, body: "missing-token" });
  });

  it("refuses a token that is not percent-decodable, and a wrong one, and leaves exempt paths alone", async () => {
    expect(await send("/echo", withCookie(urlencoded), [`_csrf=%E0%A4%A&a=1`])).toMatchObject({ status: 403, body: "missing-token" });
    expect(await send("/echo", withCookie(urlencoded), [`_csrf=${token.slice(1)}x&a=1`])).toMatchObject({ status: 403, body: "bad-token" });
    expect(await send("/exempt", withCookie(urlencoded), ["a=1"])).toMatchObject({ status: 200, body: "a=1" });
  });

  it("treats a cookie that is not a plausible token as missing, and issues a new one", async () => {
    for (const bad of ["short", "x".repeat(129), "has spaces in it and more"]) {
      const reply = await send("/echo", { cookie: `${COOKIE}=${bad}`, "content-type": urlencoded }, [`_csrf=${tokenFor(services, bad)}`]);
      expect(reply).toMatchObject({ status: 403, body: "missing-cookie" });
      expect(reply.setCookie).toEqual([
        expect.stringMatching(new RegExp(`^${COOKIE}=[A-Za-z0-9_-]{32}; Path=/; HttpOnly; SameSite=Lax; Secure$`)),
      ]);
    }
  });

  it("renews the cookie at sign-in, keeping the response's other cookies and replacing one issued earlier", async () => {
    // Without a cookie, the check issues one first: renewing replaces it rather than adding a second.
    const fresh = await send("/sign-in", {}, [], "GET");
    expect(fresh.body).toBe("renewed");
    expect(fresh.setCookie).toHaveLength(2);
    expect(fresh.setCookie[0]).toBe("theme=dark; Path=/");
    expect(fresh.setCookie[1]).toMatch(new RegExp(`^${COOKIE}=`));

    const known = await send("/sign-in?earlier=string", { cookie: `${COOKIE}=${cookieValue}` }, [], "GET");
    expect(known.body).toBe("renewed");
    expect(known.setCookie).toEqual(["theme=dark; Path=/", expect.stringMatching(new RegExp(`^${COOKIE}=(?!${cookieValue})`))]);
  });
});
