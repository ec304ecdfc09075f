import { z } from "zod";
import { describe, expect, it } from "vitest";
import { AppError } from "~/domain/errors";
import { field, formValues, parseForm, parseQuery } from "~/route-helpers/forms.server";

function post(body: BodyInit | null, contentType?: string): Request {
  return new Request("http://coffer.test/files", { method: "POST", body, headers: contentType ? { "content-type": contentType } : {} });
}

async function refusal(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

const schema = z.object({
  intent: field.oneOf(["create-folder"]),
  name: field.text(10),
  items: field.repeated(z.string()),
  open: field.checkbox(),
});

describe("parseForm", () => {
  it("parses a urlencoded or multipart form into typed values", async () => {
    expect(
      await parseForm(post("intent=create-folder&name=Photos&items=a&items=b&open=1", "application/x-www-form-urlencoded"), schema),
    ).toEqual({
      intent: "create-folder",
      name: "Photos",
      items: ["a", "b"],
      open: true,
    });
    const form = new FormData();
    form.append("intent", "create-folder");
    form.append("file", new Blob(["x"]), "a.txt");
    expect(await parseForm(post(form), schema)).toEqual({ intent: "create-folder", name: "", items: [], open: false });
  });

  it("refuses a body that is not a form with 415", async () => {
    for (const [body, type] of [
      ['{"intent":"create-folder"}', "application/json"],
      ["intent=create-folder", "text/plain"],
      ["intent=create-folder", undefined],
    ] as const) {
      expect((await refusal(parseForm(post(body, type), schema))).status).toBe(415);
    }
  });

  it("refuses a multipart body cut short with 400", async () => {
    const cut = '--b\r\nContent-Disposition: form-data; name="intent"\r\n\r\ncreate-folder';
    expect((await refusal(parseForm(post(cut, "multipart/form-data; boundary=b"), schema))).status).toBe(400);
  });

  it("names each field at fault", async () => {
    const error = await refusal(parseForm(post(`intent=evil&name=${"x".repeat(11)}`, "application/x-www-form-urlencoded"), schema));
    expect(error.status).toBe(400);
    expect(error.fieldErrors).toEqual({ intent: "Unknown action.", name: "At most 10 characters." });
    const one = await refusal(parseForm(post("intent=evil", "application/x-www-form-urlencoded"), schema));
    expect(one.message).toBe("Unknown action.");
  });

  it("reads a field sent twice where one is expected as missing, not as an array", async () => {
    const error = await refusal(parseForm(post("intent=create-folder&intent=create-folder", "application/x-www-form-urlencoded"), schema));
    expect(error.fieldErrors).toEqual({ intent: "Unknown action." });
  });
});

describe("query parameters", () => {
  it("falls back (undefined) for hints that are repeated or too long", () => {
    const query = z.object({ sort: field.hint(5), after: field.hint(5), dir: field.hint(5) });
    const request = new Request(`http://coffer.test/files?sort=name&after=${"A".repeat(6)}&dir=a&dir=b`);
    expect(parseQuery(request, query)).toEqual({ sort: "name", after: undefined, dir: undefined });
  });

  it("keeps only text fields of a form", () => {
    const form = new FormData();
    form.append("a", "1");
    form.append("f", new Blob(["x"]), "x.txt");
    expect(formValues(form)).toEqual({ a: "1" });
  });
});
