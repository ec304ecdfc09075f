import http from "node:http";

/**
 * A fetch that sends requests the way a reverse proxy in front of Coffer does: with `host` as
 * the Host header (fetch cannot set Host) and `headers` added (X-Forwarded-Proto, or a browser's
 * Origin as the proxy passes it on). Bodies are buffered: for small test requests only.
 */
export function behindProxy(host: string, headers: Record<string, string> = {}) {
  return async (url: URL | string, init: RequestInit = {}): Promise<Response> => {
    const request = new Request(url, init);
    const body = Buffer.from(await request.arrayBuffer());
    const outgoing: http.OutgoingHttpHeaders = { ...headers };
    request.headers.forEach((value, name) => {
      outgoing[name] = value;
    });
    outgoing.host = host;
    if (body.length > 0 || !["GET", "HEAD"].includes(request.method)) outgoing["content-length"] = String(body.length);
    return new Promise((resolve, reject) => {
      const target = new URL(request.url);
      const sent = http.request(
        { host: target.hostname, port: target.port, path: `${target.pathname}${target.search}`, method: request.method, headers: outgoing },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("error", reject);
          res.on("end", () => {
            const responseHeaders = new Headers();
            for (const [name, value] of Object.entries(res.headers)) {
              for (const item of Array.isArray(value) ? value : value === undefined ? [] : [value]) responseHeaders.append(name, item);
            }
            const status = res.statusCode ?? 0;
            const noBody = request.method === "HEAD" || status === 204 || status === 304;
            resolve(new Response(noBody ? null : Buffer.concat(chunks), { status, headers: responseHeaders }));
          });
        },
      );
      sent.on("error", reject);
      sent.end(body);
    });
  };
}
