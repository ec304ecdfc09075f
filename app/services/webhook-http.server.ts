import dns from "node:dns";
import http from "node:http";
import https from "node:https";
import net from "node:net";

/**
 * Outbound webhook requests with the SSRF guard (docs/webhooks.md, decision 0035): only http(s),
 * never to a private, loopback, link-local, unique-local, multicast, reserved or metadata
 * address, checked on the address the connection is made to (a lookup at connect time, so a name
 * that resolves elsewhere at registration and to 127.0.0.1 now is refused: DNS rebinding).
 * Redirects are never followed. Networks in WEBHOOK_ALLOW_NETWORKS are let through anyway.
 */

const BLOCKED_V4 = [
  "0.0.0.0/8", // "this network"
  "10.0.0.0/8",
  "100.64.0.0/10", // carrier-grade NAT
  "127.0.0.0/8",
  "169.254.0.0/16", // link-local, with the cloud metadata address 169.254.169.254
  "172.16.0.0/12",
  "192.0.0.0/24",
  "192.0.2.0/24",
  "192.88.99.0/24",
  "192.168.0.0/16",
  "198.18.0.0/15",
  "198.51.100.0/24",
  "203.0.113.0/24",
  "224.0.0.0/4", // multicast
  "240.0.0.0/4", // reserved and broadcast
];

const BLOCKED_V6 = [
  "::/96", // unspecified, loopback (::1) and the old IPv4-compatible form
  "64:ff9b::/96", // NAT64: reaches IPv4 addresses through a gateway
  "64:ff9b:1::/48",
  "100::/64", // discard
  "2001::/23", // Teredo, benchmarking, ORCHID and the rest
  "2001:db8::/32", // documentation
  "2002::/16", // 6to4: embeds an IPv4 address
  "fc00::/7", // unique-local, with AWS's metadata fd00:ec2::254
  "fe80::/10", // link-local
  "fec0::/10", // old site-local
  "ff00::/8", // multicast
];

const blocked = new net.BlockList();
for (const cidr of BLOCKED_V4) {
  const [address, prefix] = cidr.split("/");
  blocked.addSubnet(address!, Number(prefix), "ipv4");
}
for (const cidr of BLOCKED_V6) {
  const [address, prefix] = cidr.split("/");
  blocked.addSubnet(address!, Number(prefix), "ipv6");
}

/** A request refused before any byte was sent: the address is not one webhooks may reach. */
export class BlockedAddressError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BlockedAddressError";
  }
}

/** An IPv4-mapped IPv6 address (::ffff:127.0.0.1, ::ffff:7f00:1) as the IPv4 address it is. */
function unmapped(address: string): { address: string; type: "ipv4" | "ipv6" } {
  const lower = address.toLowerCase().replace(/^\[|\]$/g, "");
  if (net.isIPv4(lower)) return { address: lower, type: "ipv4" };
  const dotted = /^(?:0{0,4}:){0,5}:?ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted) return { address: dotted[1]!, type: "ipv4" };
  const hex = /^(?:0{0,4}:){0,5}:?ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex) {
    const high = Number.parseInt(hex[1]!, 16);
    const low = Number.parseInt(hex[2]!, 16);
    return { address: [high >> 8, high & 255, low >> 8, low & 255].join("."), type: "ipv4" };
  }
  return { address: lower, type: "ipv6" };
}

/** The allow-list of WEBHOOK_ALLOW_NETWORKS (addresses or CIDRs). */
export function allowList(networks: readonly string[]): net.BlockList {
  const list = new net.BlockList();
  for (const entry of networks) {
    const [address, prefix] = entry.split("/");
    const { address: plain, type } = unmapped(address!);
    if (prefix === undefined) list.addAddress(plain, type);
    else list.addSubnet(plain, Number(prefix), type);
  }
  return list;
}

/** Null when webhooks may reach the address, else why not. */
export function refusedAddress(address: string, allow: net.BlockList): string | null {
  const { address: plain, type } = unmapped(address);
  if (!net.isIP(plain)) return `${address} is not an IP address`;
  if (allow.check(plain, type)) return null;
  return blocked.check(plain, type) ? `${address} is a private, loopback, link-local or reserved address` : null;
}

/** Why a URL may not be a webhook target on its face (scheme, credentials, a refused literal address), or null. */
export function refusedUrl(url: URL, allow: net.BlockList): string | null {
  if (url.protocol !== "http:" && url.protocol !== "https:") return "Use an http:// or https:// address.";
  if (url.username || url.password) return "Leave the user name and password out of the address.";
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (net.isIP(host)) {
    const refused = refusedAddress(host, allow);
    return refused ? `Coffer does not send webhooks to ${url.hostname}: it is a private, loopback or reserved address.` : null;
  }
  if (host === "localhost" || host.endsWith(".localhost")) {
    return refusedAddress("127.0.0.1", allow) ? "Coffer does not send webhooks to localhost." : null;
  }
  return null;
}

type Lookup = typeof dns.lookup;

/** dns.lookup, but failing when any address the name resolves to is refused: the connection uses what it returns. */
export function guardedLookup(allow: net.BlockList, resolve: Lookup = dns.lookup): net.LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (error, addresses) => {
      const found = (Array.isArray(addresses) ? addresses : []) as dns.LookupAddress[];
      if (error) return callback(error, "", 4);
      const bad = found.find((entry) => refusedAddress(entry.address, allow));
      if (bad || found.length === 0) {
        const reason = new BlockedAddressError(
          bad ? `${hostname} resolves to ${bad.address}, which webhooks may not reach` : `${hostname} did not resolve`,
        );
        return callback(reason as NodeJS.ErrnoException, "", 4);
      }
      if (options.all) (callback as unknown as (e: null, all: dns.LookupAddress[]) => void)(null, found);
      else callback(null, found[0]!.address, found[0]!.family);
    });
  };
}

export interface WebhookPost {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  allowNetworks: readonly string[];
  /** Tests resolve names their own way (DNS rebinding). */
  lookup?: Lookup;
}

export interface WebhookAnswer {
  /** The HTTP status, or null when there was no answer. */
  status: number | null;
  durationMs: number;
  /** The start of the response body, at most EXCERPT_BYTES (as text). */
  excerpt: string | null;
  /** Why it failed without an answer, or that a redirect was not followed. */
  error: string | null;
  /** True when the target was refused before anything was sent. */
  refused: boolean;
}

/** The most of a response kept for the delivery log. */
export const EXCERPT_BYTES = 1024;

/** POSTs one webhook. Never throws: every outcome is an answer. Redirects are not followed. */
export function postWebhook(request: WebhookPost): Promise<WebhookAnswer> {
  const started = Date.now();
  const allow = allowList(request.allowNetworks);
  const answer = (fields: Partial<WebhookAnswer>): WebhookAnswer => ({
    status: null,
    excerpt: null,
    error: null,
    refused: false,
    ...fields,
    durationMs: Date.now() - started,
  });
  let url: URL;
  try {
    url = new URL(request.url);
  } catch {
    return Promise.resolve(answer({ error: "The address is not a URL.", refused: true }));
  }
  const refused = refusedUrl(url, allow);
  if (refused) return Promise.resolve(answer({ error: refused, refused: true }));
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: WebhookAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const client = url.protocol === "https:" ? https : http;
    const outgoing = client.request(url, {
      method: "POST",
      headers: { ...request.headers, "content-length": String(Buffer.byteLength(request.body)) },
      // A fresh connection every time: the guarded lookup runs for each one.
      agent: false,
      lookup: guardedLookup(allow, request.lookup),
    });
    const timer = setTimeout(() => outgoing.destroy(new Error(`no answer within ${request.timeoutMs} ms`)), request.timeoutMs);
    outgoing.on("error", (error) => {
      const blockedTarget = error instanceof BlockedAddressError || error.name === "BlockedAddressError";
      finish(answer({ error: error.message, refused: blockedTarget }));
    });
    outgoing.on("response", (response) => {
      const status = response.statusCode ?? 0;
      const chunks: Buffer[] = [];
      let kept = 0;
      const done = () => {
        response.destroy();
        const excerpt = Buffer.concat(chunks).subarray(0, EXCERPT_BYTES).toString("utf8");
        const location = response.headers.location;
        const error = status >= 300 && status < 400 ? `redirect not followed${location ? ` (to ${location.slice(0, 200)})` : ""}` : null;
        finish(answer({ status, excerpt: excerpt || null, error }));
      };
      response.on("data", (chunk: Buffer) => {
        if (kept < EXCERPT_BYTES) chunks.push(chunk);
        kept += chunk.length;
        if (kept >= EXCERPT_BYTES) done();
      });
      response.on("end", done);
      response.on("error", done);
    });
    outgoing.end(request.body);
  });
}
