import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import {
  data,
  redirect,
  unstable_parseMultipartFormData,
  type ActionFunctionArgs,
  type LoaderFunctionArgs,
  type UploadHandler,
} from "@remix-run/node";
import { canWrite } from "~/domain/sharing/access.server";
import { z } from "zod";
import { isAppError, ValidationError } from "~/domain/errors";
import { detectMimeType, storeStream } from "~/domain/files/files.server";
import { countFolderContents, folderSize, listFolder, parseDir, parseSort } from "~/domain/files/folder-listing.server";
import { breadcrumbs, folderTree } from "~/domain/files/folder-tree.server";
import { createFolder, getReadableFolder, getWritableFolder } from "~/domain/files/folders.server";
import { cleanName } from "~/domain/files/names";
import { uploadPolicyFrom, type UploadPolicy } from "~/domain/files/versions.server";
import { landFormUpload, type LandedUpload, type LandingActivity } from "~/domain/uploads/upload-landing.server";
import { uploadActivity } from "~/domain/uploads/uploads.server";
import { assertTypeAllowed, shownMaxUploadSize, tooLargeError, uploadAllowance } from "~/domain/files/quota.server";
import { getSettings } from "~/domain/admin/settings.server";
import { requireUser } from "~/route-helpers/guards.server";
import { visibleCrumbs } from "~/domain/sharing/user-shares.server";
import { metrics } from "~/services/metrics.server";
import { actionFailure, loaderFailure } from "./http.server";
import { field, parseForm, parseQuery } from "./forms.server";
import { idParam } from "./params.server";
import { deleteUnreferencedObjects } from "~/domain/files/shared-objects.server";

/** The listing's order, view and page; unknown values fall back to the defaults (parseSort, parseDir, viewFrom). */
const folderQuery = z.object({ sort: field.hint(), dir: field.hint(), view: field.hint(), after: field.hint(), before: field.hint() });

/** Loader shared by /files (the root) and /files/<folderId>. */
export async function folderLoader({ request, params, context }: LoaderFunctionArgs) {
  const { services } = context;
  const user = await requireUser(services, request);
  try {
    const folder = await getReadableFolder(services, user, folderParam(params));
    const query = parseQuery(request, folderQuery);
    const sort = parseSort(query.sort ?? null);
    const dir = parseDir(query.dir ?? null);
    const view = viewFrom(query.view ?? null, request.headers.get("cookie"));
    // Independent reads at once: the page waits for the slowest, not for their sum.
    const [allCrumbs, listing, counts, size, allowance, writable] = await Promise.all([
      breadcrumbs(services, folder),
      listFolder(services, folder, query.after ?? null, { sort, dir, before: query.before ?? null }),
      countFolderContents(services, folder.id),
      // The root's size is the account's usage, shown beside the tree instead.
      folder.parentId === null ? null : folderSize(services, folder.id),
      uploadAllowance(services, folder.ownerId, user.id),
      canWrite(services, user, { kind: "folder", id: folder.id, ownerId: folder.ownerId }),
    ]);
    // Someone the folder was shared with sees the path from the shared folder down only.
    const crumbs = await visibleCrumbs(services, user, folder.ownerId, allCrumbs);
    const tree = await folderTree(services, crumbs);
    // `?view=` switches the view and remembers it (a plain link does it: no JavaScript needed).
    const headers: HeadersInit = view.chosen
      ? { "Set-Cookie": `${VIEW_COOKIE}=${view.view}; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly` }
      : {};
    return data(
      {
        view: view.view,
        counts,
        size,
        tree,
        folder: {
          id: folder.id,
          isRoot: folder.parentId === null,
          canWrite: writable,
        },
        crumbs,
        listing,
        maxUploadSize: shownMaxUploadSize(allowance),
        usage: folder.ownerId === user.id ? allowance.usage : null,
      },
      { headers },
    );
  } catch (error) {
    loaderFailure(error);
  }
}

/** /files/<folderId>, or null for /files (the root). */
function folderParam(params: LoaderFunctionArgs["params"]): string | null {
  return params.folderId === undefined ? null : idParam(params, "folderId", "That folder");
}

export type FolderViewMode = "list" | "grid";
const VIEW_COOKIE = "coffer_view";

/** The view asked for in the URL (then remembered), else the remembered one, else the list. */
function viewFrom(param: string | null, cookieHeader: string | null): { view: FolderViewMode; chosen: boolean } {
  if (param === "list" || param === "grid") return { view: param, chosen: true };
  const remembered = /(?:^|;\s*)coffer_view=(list|grid)(?:;|$)/.exec(cookieHeader ?? "")?.[1];
  return { view: remembered === "grid" ? "grid" : "list", chosen: false };
}

/**
 * Actions on a folder page. Plain form posts (no JavaScript) create folders and upload files
 * as multipart/form-data, streamed straight into the object store.
 */
export async function folderAction({ request, params, context }: ActionFunctionArgs) {
  const { services } = context;
  const user = await requireUser(services, request);
  try {
    const folderId = folderParam(params);
    const contentType = request.headers.get("content-type") ?? "";
    if (contentType.startsWith("multipart/form-data")) {
      const folder = await getWritableFolder(services, user, folderId);
      // Files that could not land in the folder: it went to the trash, or away, while they arrived.
      const elsewhere: LandedUpload[] = [];
      const names = await receiveMultipartUpload(
        request,
        { ownerId: folder.ownerId, uploaderId: user.id, folderId: folder.id },
        async (upload, fields, land) => {
          // The policy field comes before the file field in the form, so it is known by now.
          const landed = await land(uploadPolicyFrom(fields.get("onConflict")), uploadActivity(user.id, upload.size));
          if (landed.place !== "folder") elsewhere.push(landed);
          return landed.file.name;
        },
        services,
      );
      if (names.length === 0) throw new ValidationError("Choose a file to upload.", { file: "Choose a file to upload." });
      // The folder page is gone: say where the file went, on a page that exists.
      const moved = elsewhere[0];
      if (moved?.place === "trash") return redirect(`/trash?done=uploaded-to-trash&item=file:${moved.file.id}`, 303);
      if (moved?.place === "root") return redirect(`/details/file/${moved.file.id}?done=uploaded-to-root`, 303);
      return data({ ok: true as const, message: names.length === 1 ? `Uploaded “${names[0]}”.` : `Uploaded ${names.length} files.` });
    }
    const { intent, name, open } = await parseForm(request, folderForm);
    if (intent === "create-folder") {
      const created = await createFolder(services, user, folderId, name);
      if (open === "1") return redirect(`/files/${created.id}`);
      return data({ ok: true as const, message: `Created folder “${created.name}”.` });
    }
    throw new ValidationError("Unknown action.");
  } catch (error) {
    return actionFailure(error);
  }
}

const folderForm = z.object({ intent: field.text(), name: field.text(), open: field.text() });

export type StoredUpload = { name: string; size: number; mimeType: string; storageKey: string; sha256: string };

/**
 * Streams each file part of a multipart body into storage as it arrives, then records it.
 * Memory stays bounded whatever the file size.
 */
export async function receiveMultipartUpload(
  request: Request,
  /** The folder, whose storage the files count against (its owner's), and who sends them (null: a drop-link visitor). */
  { ownerId, uploaderId, folderId }: { ownerId: string; uploaderId: string | null; folderId: string },
  /**
   * Gets each stored file with the text fields that came before it in the form, and `land`, which
   * records it where it belongs (claiming its room in the owner's storage under lock): in the
   * folder, or in the trash with it, or (the folder deleted meanwhile) in the uploader's My files.
   */
  record: (
    upload: StoredUpload,
    fields: ReadonlyMap<string, string>,
    land: (policy: UploadPolicy, activity: LandingActivity) => Promise<LandedUpload>,
  ) => Promise<string>,
  services: import("~/services/index.server").Services,
): Promise<string[]> {
  const recorded: string[] = [];
  const fields = new Map<string, string>();
  const handler: UploadHandler = async ({ name: field, filename, contentType, data: chunks }) => {
    if (field !== "file") {
      // Small text fields only; anything else is drained and dropped.
      let text = "";
      for await (const chunk of chunks) {
        text += new TextDecoder().decode(chunk);
        if (text.length > 1000) break;
      }
      fields.set(field, text);
      return text;
    }
    if (!filename) {
      for await (const _ of chunks) void _;
      return undefined;
    }
    const name = cleanName(filename, "File name");
    await assertTypeAllowed(services, name);
    const settings = await getSettings(services);
    const allowance = await uploadAllowance(services, ownerId, uploaderId, undefined, settings);
    const storageKey = randomBytes(16).toString("hex");
    const { size, sha256 } = await storeStream(services, storageKey, Readable.from(countedFormBytes(chunks)), allowance.maxBytes, () =>
      tooLargeError(allowance),
    );
    // The room is not reserved while the bytes stream in (their size is unknown until the end),
    // so it is checked again under the owner's storage lock where the file is recorded.
    const content = { name, size, sha256, storageKey, mimeType: detectMimeType(name, contentType) };
    const land = (policy: UploadPolicy, activity: LandingActivity) =>
      landFormUpload(services, { folderId, ownerId, uploaderId }, content, policy, activity);
    try {
      recorded.push(await record(content, fields, land));
    } catch (error) {
      await deleteUnreferencedObjects(services, [storageKey]);
      throw error;
    }
    return storageKey;
  };
  try {
    await unstable_parseMultipartFormData(request, handler);
  } catch (error) {
    // The parser's own errors are about the body the client sent (cut short, no boundary).
    if (error instanceof Error && !isAppError(error) && /multipart|content-disposition/i.test(error.message)) {
      throw new ValidationError("The upload could not be read: the form was cut short or is malformed. Nothing was saved from it.");
    }
    throw error;
  }
  return recorded;
}

/** Passes a file part's chunks on, counting them as they arrive (so refused, too-large files count too). */
async function* countedFormBytes(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const received = metrics().formUploadReceivedBytes;
  for await (const chunk of chunks) {
    received.inc(chunk.byteLength);
    yield chunk;
  }
}
