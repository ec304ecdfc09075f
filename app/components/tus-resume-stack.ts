import type { HttpResponse, HttpStack } from "tus-js-client";

/**
 * tus-js-client meets any failed HEAD (the offset check before it resumes) by giving the upload
 * up and sending the whole file again as a new one, a 503 included. Coffer answers 503 while its
 * storage is down, and the upload is intact: it resumes at its exact offset once the store is
 * back. This stack reports such a HEAD as 423 (Locked), the one failed HEAD tus-js-client retries
 * with its retry delays, as it does a failed PATCH.
 */
export function resumingHttpStack(inner: HttpStack): HttpStack {
  return {
    getName: () => inner.getName(),
    createRequest(method, url) {
      const request = inner.createRequest(method, url);
      if (method !== "HEAD") return request;
      const send = request.send.bind(request);
      request.send = async (body) => {
        const response = await send(body);
        return response.getStatus() === 503 ? asLocked(response) : response;
      };
      return request;
    },
  };
}

function asLocked(response: HttpResponse): HttpResponse {
  return {
    getStatus: () => 423,
    getHeader: (header) => response.getHeader(header),
    getBody: () => response.getBody(),
    getUnderlyingObject: () => response.getUnderlyingObject(),
  };
}
