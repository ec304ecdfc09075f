import { z } from "zod";
import { AppError, ValidationError } from "~/domain/errors";

/**
 * The one way actions read their forms: the body must be a form (415 otherwise), must parse
 * (400 otherwise), and its fields go through a zod schema (400 with each field's message
 * otherwise). Routes get typed values, never `FormDataEntryValue | null`.
 */

const FORM_TYPES = /^(application\/x-www-form-urlencoded|multipart\/form-data)\b/i;

export class UnsupportedMediaTypeError extends AppError {
  constructor() {
    super(415, "This address accepts only form submissions (application/x-www-form-urlencoded or multipart/form-data).");
  }
}

/** The request's form, or a 4xx AppError when the body is not a form or cannot be read as one. */
export async function readForm(request: Request): Promise<FormData> {
  if (!FORM_TYPES.test(request.headers.get("content-type") ?? "")) throw new UnsupportedMediaTypeError();
  try {
    return await request.formData();
  } catch {
    throw new ValidationError("The form could not be read: its body is malformed or was cut short.");
  }
}

/**
 * The form's text fields as an object for a schema: one value → a string, a repeated field → an
 * array of strings (use `repeated()` for fields that may come once or many times). Files are left
 * out: uploads stream through their own handler.
 */
export function formValues(form: FormData): Record<string, string | string[]> {
  const values: Record<string, string | string[]> = {};
  for (const key of new Set(form.keys())) {
    const texts = form.getAll(key).filter((value): value is string => typeof value === "string");
    if (texts.length === 1) values[key] = texts[0];
    else if (texts.length > 1) values[key] = texts;
  }
  return values;
}

/** Parses the form's fields with `schema`; a 400 ValidationError naming each bad field otherwise. */
export function parseFormData<Schema extends z.ZodType>(
  form: FormData,
  schema: Schema,
  message = "Check the highlighted fields.",
): z.output<Schema> {
  const parsed = schema.safeParse(formValues(form));
  if (parsed.success) return parsed.data;
  const fieldErrors: Record<string, string> = {};
  for (const issue of parsed.error.issues) fieldErrors[String(issue.path[0] ?? "form")] ??= issue.message;
  const only = Object.values(fieldErrors);
  throw new ValidationError(only.length === 1 ? only[0] : message, fieldErrors);
}

/** {@link readForm} then {@link parseFormData}. */
export async function parseForm<Schema extends z.ZodType>(request: Request, schema: Schema, message?: string): Promise<z.output<Schema>> {
  return parseFormData(await readForm(request), schema, message);
}

/** The URL's query parameters parsed with `schema`, the same way as a form's fields (400 otherwise). */
export function parseQuery<Schema extends z.ZodType>(request: Request, schema: Schema): z.output<Schema> {
  const query = new URL(request.url).searchParams;
  const form = new FormData();
  for (const [name, value] of query) form.append(name, value);
  return parseFormData(form, schema, "The address has parameters that are not valid.");
}

/** Field schemas that read forms the way browsers send them. */
export const field = {
  /** A text field; missing or sent twice reads as "" (a hostile form gets the field's own message). */
  text: (max = 10_000) =>
    z.preprocess((value) => (typeof value === "string" ? value : ""), z.string().max(max, `At most ${max} characters.`)),
  /** A text field checked by `inner`; missing or sent twice it reads as "". */
  string: <Inner extends z.ZodType>(inner: Inner) => z.preprocess((value) => (typeof value === "string" ? value : ""), inner),
  /** A text field that may be absent (undefined); sent twice it is absent too. */
  optionalText: (max = 10_000) =>
    z.preprocess((value) => (typeof value === "string" ? value : undefined), z.string().max(max, `At most ${max} characters.`).optional()),
  /**
   * A value that only steers the page (an order, a view, a page cursor): absent, repeated or
   * longer than `max`, it reads as absent and the page falls back to its default.
   */
  hint: (max = 1_000) =>
    z.preprocess((value) => (typeof value === "string" && value.length <= max ? value : undefined), z.string().optional()),
  /** A field that may come once, many times, or not at all: always an array. */
  repeated: <Item extends z.ZodType>(item: Item) =>
    z.preprocess((value) => (value === undefined ? [] : Array.isArray(value) ? value : [value]), z.array(item)),
  /** A checkbox: present means on. */
  checkbox: () => z.preprocess((value) => value !== undefined && value !== "", z.boolean()),
  /** One of the listed values; anything else is refused with `message`. */
  oneOf: <const Values extends readonly [string, ...string[]]>(values: Values, message = "Unknown action.") =>
    z.preprocess((value) => (typeof value === "string" ? value : ""), z.enum(values, { error: () => message })),
};
