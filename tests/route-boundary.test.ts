import type { LoaderFunctionArgs, ServerBuild } from "@remix-run/node";
import { z } from "zod";
import { describe, expect, it, vi } from "vitest";
import { NotFoundError } from "~/domain/errors";
import { withRouteBoundary } from "~/server/route-boundary.server";

/** A build with one page route and one resource route, both running `loader`. */
function buildWith(loader: (args: LoaderFunctionArgs) => unknown): ServerBuild {
  const route = (id: string, page: boolean) => ({
    id,
    path: id,
    parentId: undefined,
    module: { loader, ...(page ? { default: () => null } : {}) },
  });
  return { routes: { page: route("page", true), resource: route("resource", false) } } as unknown as ServerBuild;
}

async function outcome(build: ServerBuild, id: "page" | "resource", params: Record<string, string> = {}) {
  const loader = build.routes[id].module.loader!;
  try {
    return { returned: await loader({ request: new Request("http://x/"), params, context: {} } as never) };
  } catch (thrown) {
    return { thrown };
  }
}

/** A thrown page refusal is Remix's `data()`; a resource route's is a plain Response. */
function statusOf(thrown: unknown): number {
  if (thrown instanceof Response) return thrown.status;
  return (thrown as { init?: { status?: number } }).init?.status ?? -1;
}

describe("the route error boundary", () => {
  it("answers a parameter that is not an id with 404 before the route runs", async () => {
    const loader = vi.fn(() => "ran");
    const build = withRouteBoundary(buildWith(loader));
    for (const value of ["\u0000", "a\u0000b", "x".repeat(300), "é", "../x"]) {
      expect(statusOf((await outcome(build, "page", { fileId: value })).thrown)).toBe(404);
      expect(statusOf((await outcome(build, "resource", { folderId: value })).thrown)).toBe(404);
    }
    expect(statusOf((await outcome(build, "page", { kind: "neither" })).thrown)).toBe(404);
    expect(loader).not.toHaveBeenCalled();
    expect(await outcome(build, "page", { kind: "file", id: "cmabc123" })).toEqual({ returned: "ran" });
  });

  it("turns errors the input caused into their 4xx, with a message and no stack", async () => {
    const cases: Array<[unknown, number]> = [
      [z.object({ a: z.string().max(1) }).safeParse({ a: "long" }).error, 400],
      [new NotFoundError("That file"), 404],
      [new TypeError("Could not parse content as FormData."), 400],
      [new Error("malformed multipart-form data: unexpected end of stream"), 400],
      [new Error('malformed content-disposition header: mismatched quotations in `form-data; name="file"; filename="\u0000&%="`'), 400],
      [new URIError("URI malformed"), 400],
      [
        Object.assign(new Error("Invalid `prisma.file.findUnique()` invocation: Database error. Code: `22021`."), {
          name: "PrismaClientKnownRequestError",
        }),
        400,
      ],
    ];
    for (const [error, status] of cases) {
      const build = withRouteBoundary(buildWith(() => Promise.reject(error)));
      const page = (await outcome(build, "page")).thrown as { data: { message: string } };
      expect(statusOf(page)).toBe(status);
      expect(page.data.message).not.toMatch(/\bat .+:\d+/);
      const resource = (await outcome(build, "resource")).thrown as Response;
      expect(resource.status).toBe(status);
      expect(resource.headers.get("content-type")).toContain("text/plain");
    }
  });

  it("lets unexpected errors and responses through unchanged", async () => {
    const bug = new Error("a bug");
    expect((await outcome(withRouteBoundary(buildWith(() => Promise.reject(bug))), "page")).thrown).toBe(bug);
    const redirect = new Response(null, { status: 302, headers: { location: "/login" } });
    expect((await outcome(withRouteBoundary(buildWith(() => Promise.reject(redirect))), "page")).thrown).toBe(redirect);
  });
});
