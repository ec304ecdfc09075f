import { X509Certificate } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import type tls from "node:tls";
import type express from "express";
import type { Config } from "~/config.server";
import { metrics } from "~/services/metrics.server";

/**
 * TLS 1.2 cipher suites with forward secrecy and AEAD only (Mozilla's "intermediate" list);
 * TLS 1.3 suites are all modern and stay at Node's defaults.
 */
const TLS12_CIPHERS = [
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
].join(":");

export class TlsFilesError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TlsFilesError";
  }
}

function readPem(file: string, variable: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "unreadable";
    throw new TlsFilesError(`${variable}: cannot read ${file} (${code}); point it at a readable PEM file`);
  }
}

/** Plain HTTP, or HTTPS on the same port when TLS_CERT_FILE and TLS_KEY_FILE are set. */
export function createListener(app: express.Express, config: Config): http.Server | https.Server {
  if (!config.tls) return http.createServer(app);
  const cert = readPem(config.tls.certFile, "TLS_CERT_FILE");
  const key = readPem(config.tls.keyFile, "TLS_KEY_FILE");
  let server: https.Server;
  try {
    server = https.createServer(
      {
        cert,
        key,
        minVersion: "TLSv1.2",
        ciphers: TLS12_CIPHERS,
        honorCipherOrder: true,
        ecdhCurve: "X25519:P-256:P-384",
      },
      app,
    );
  } catch (error) {
    throw new TlsFilesError(`TLS_CERT_FILE, TLS_KEY_FILE: not a usable certificate and key (${(error as Error).message})`);
  }
  exportCertificateExpiry(cert);
  // Client-initiated TLS 1.2 renegotiation only costs the server CPU (a DoS lever); nothing needs it.
  server.on("secureConnection", (socket: tls.TLSSocket) => socket.disableRenegotiation());
  return server;
}

/** The served (first) certificate's end of validity, for the certificate-expiry alert; it is read once, at start. */
function exportCertificateExpiry(pem: Buffer): void {
  const notAfter = Date.parse(new X509Certificate(pem).validTo);
  if (Number.isFinite(notAfter)) metrics().tlsCertificateExpiry.set(Math.floor(notAfter / 1000));
}

const HEALTH_PATHS = new Set(["/healthz", "/readyz"]);

/**
 * With APP_URL https behind a trusted proxy, a request that reached the proxy over plain HTTP
 * is sent to the HTTPS address. Without a trusted proxy every request would look like plain
 * HTTP (the proxy terminates TLS), so nothing is redirected then rather than looping.
 */
export function httpsRedirect(config: Config): express.RequestHandler {
  const appUrl = config.appUrl ? new URL(config.appUrl) : null;
  const active = appUrl?.protocol === "https:" && config.trustProxy !== false && !config.tls;
  return (req, res, next) => {
    if (!active || req.secure || HEALTH_PATHS.has(req.path)) return next();
    res.redirect(308, `${appUrl!.origin}${req.originalUrl}`);
  };
}
