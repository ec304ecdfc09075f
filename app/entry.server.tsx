import type { ActionFunctionArgs, AppLoadContext, EntryContext, LoaderFunctionArgs } from "@remix-run/node";
import { createReadableStreamFromReadable } from "@remix-run/node";
import { isRouteErrorResponse, RemixServer } from "@remix-run/react";
import { isbot } from "isbot";
import { renderToPipeableStream } from "react-dom/server";
import { coalescedStream } from "~/lib/coalesced-stream.server";
import { NonceProvider } from "~/lib/nonce";
import { PageTextsProvider } from "~/lib/page-text";
import { loggablePath } from "~/server/request-log.server";

// server.ts starts the app with these modules of the build: one copy of the app per process.
export * as runtime from "~/server/runtime.server";

const ABORT_DELAY = 5_000;

/**
 * Remix's default Node entry, plus the CSP nonce from the Express middleware: every inline
 * script (hydration data, streamed single-fetch chunks, scroll restoration) carries it; and
 * the texts the loaders kept out of the hydration data (app/lib/page-text.tsx).
 */
export default function handleRequest(
  request: Request,
  responseStatusCode: number,
  responseHeaders: Headers,
  remixContext: EntryContext,
  loadContext: AppLoadContext,
) {
  const nonce = loadContext.cspNonce;
  // Crawlers get the whole document at once; browsers get the shell as soon as it is ready.
  const waitForAll = isbot(request.headers.get("user-agent") ?? "") || remixContext.isSpaMode;
  return new Promise<Response>((resolve, reject) => {
    let shellRendered = false;
    const ready = () => {
      shellRendered = true;
      const body = coalescedStream();
      responseHeaders.set("Content-Type", "text/html; charset=utf-8");
      resolve(new Response(createReadableStreamFromReadable(body), { headers: responseHeaders, status: responseStatusCode }));
      pipe(body);
    };
    const { pipe, abort } = renderToPipeableStream(
      <NonceProvider value={nonce}>
        <PageTextsProvider value={loadContext.pageTexts}>
          <RemixServer context={remixContext} url={request.url} abortDelay={ABORT_DELAY} nonce={nonce} />
        </PageTextsProvider>
      </NonceProvider>,
      {
        nonce,
        onShellReady: waitForAll ? undefined : ready,
        onAllReady: waitForAll ? ready : undefined,
        onShellError: reject,
        onError(error: unknown) {
          responseStatusCode = 500;
          // Errors before the shell reject and Remix logs them (handleError); later ones only show here.
          if (shellRendered) logUnexpected(loadContext, request, error);
        },
      },
    );
    setTimeout(abort, ABORT_DELAY);
  });
}

/**
 * Remix's report of an error in a loader, an action or the render. A 4xx (no route matches the
 * URL, a thrown 404 or 403) is the client's doing and the access log has it; anything else is a
 * bug, logged as one JSON line with its stack. The response never carries the stack.
 */
export function handleError(error: unknown, { request, context }: LoaderFunctionArgs | ActionFunctionArgs) {
  if (request.signal.aborted) return;
  if (isRouteErrorResponse(error) && error.status < 500) return;
  logUnexpected(context, request, error);
}

function logUnexpected(context: AppLoadContext, request: Request, error: unknown) {
  const path = loggablePath(new URL(request.url).pathname);
  context.services.log.error("request failed", {
    method: request.method,
    path,
    error,
    stack: error instanceof Error ? error.stack : undefined,
  });
}
