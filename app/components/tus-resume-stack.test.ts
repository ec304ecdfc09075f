import type { HttpRequest, HttpResponse, HttpStack } from "tus-js-client";
import { describe, expect, it } from "vitest";
import { resumingHttpStack } from "./tus-resume-stack";

/** A stack whose every request answers `status`. */
function answering(status: number): HttpStack {
  return {
    getName: () => "fake",
    createRequest: (method, url) => {
      const response: HttpResponse = {
        getStatus: () => status,
        getHeader: (name) => (name === "Retry-After" ? "5" : undefined),
        getBody: () => `answer to ${method}`,
        getUnderlyingObject: () => null,
      };
      return {
        getMethod: () => method,
        getURL: () => url,
        setHeader: () => {},
        getHeader: () => undefined,
        setProgressHandler: () => {},
        send: async () => response,
        abort: async () => {},
        getUnderlyingObject: () => null,
      } satisfies HttpRequest;
    },
  };
}

describe("resumingHttpStack", () => {
  it("reports a 503 HEAD as 423, which tus-js-client retries instead of starting the upload over", async () => {
    const response = await resumingHttpStack(answering(503)).createRequest("HEAD", "/api/uploads/x").send(null);
    expect(response.getStatus()).toBe(423);
    expect(response.getHeader("Retry-After")).toBe("5");
    expect(response.getBody()).toBe("answer to HEAD");
  });

  it("leaves every other answer as it is", async () => {
    expect((await resumingHttpStack(answering(503)).createRequest("PATCH", "/api/uploads/x").send(null)).getStatus()).toBe(503);
    expect((await resumingHttpStack(answering(404)).createRequest("HEAD", "/api/uploads/x").send(null)).getStatus()).toBe(404);
    expect((await resumingHttpStack(answering(200)).createRequest("HEAD", "/api/uploads/x").send(null)).getStatus()).toBe(200);
  });
});
