import { z } from "zod";
import { ValidationError } from "../errors";
import { isId } from "../ids";

/**
 * The tus Upload-Metadata a client may send, each value bounded before anything reads it. The
 * values themselves are checked where they are used: the name by cleanName, the path by
 * parseUploadPath; the policy is one of the three here. A key without a value arrives as null.
 */
const uploadMetadataSchema = z
  .object({
    filename: z.string().max(1_024, "The file name is too long.").nullish(),
    folderId: z
      .string()
      .refine((id) => id === "" || isId(id), "The folder id of this upload (folderId) is not valid.")
      .nullish(),
    relativePath: z.string().max(4_096, "The folder path of this upload is too long.").nullish(),
    // An unknown policy is refused, not silently read as keep-both.
    onConflict: z.enum(["keep-both", "replace", "cancel", ""], "Unknown onConflict policy: use keep-both, replace or cancel.").nullish(),
    filetype: z.string().max(255, "The file type is too long.").nullish(),
  })
  .loose();

export type UploadMetadata = z.output<typeof uploadMetadataSchema>;

/** The creation request's metadata, or a 400 saying which value is wrong. */
export function parseUploadMetadata(raw: Record<string, string | null> | undefined): UploadMetadata {
  const parsed = uploadMetadataSchema.safeParse(raw ?? {});
  if (!parsed.success) throw new ValidationError(parsed.error.issues[0]?.message ?? "The upload's metadata is not valid.");
  return parsed.data;
}
