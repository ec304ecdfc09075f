import type { Readable } from "node:stream";
import { createReadableStreamFromReadable } from "@remix-run/node";
import type { FileReply } from "~/domain/files/downloads.server";

/** A Node stream from the domain as the web stream a Response sends, with backpressure. */
export function webStream(readable: Readable): ReadableStream<Uint8Array> {
  return createReadableStreamFromReadable(readable);
}

/** The Response for a download, inline view or thumbnail the domain answered. */
export function fileResponse(reply: FileReply): Response {
  const body = reply.body === null || typeof reply.body === "string" ? reply.body : webStream(reply.body);
  return new Response(body, { status: reply.status, headers: reply.headers });
}
