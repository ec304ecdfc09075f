import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs } from "@remix-run/node";
import { recordShareDenial } from "~/domain/sharing/access-denials.server";
import { auditActor, recordAudit } from "~/domain/audit/audit.server";
import { isAppError, NotFoundError, UnauthorizedError, ValidationError } from "~/domain/errors";
import { listFolder } from "~/domain/files/folder-listing.server";
import { folderById } from "~/domain/files/folders.server";
import { viewerData } from "~/domain/files/previews.server";
import { viewerForPage } from "~/lib/page-text.server";
import type { ViewerData } from "~/domain/files/viewer";
import { thumbnailUrl } from "~/lib/thumbnails";
import { TooManyRequestsError } from "~/domain/rate-limit.server";
import { countShareAccess, type ShareAccessOutcome } from "~/services/metrics.server";
import {
  hasShareAccess,
  limitShareViews,
  recordShareView,
  resolveShare,
  shareFolderChain,
  ShareGoneError,
  unlockShare,
  type PublicShare,
} from "~/domain/sharing/share-access.server";
import { receiveMultipartUpload } from "./folder-route.server";
import { z } from "zod";
import type { ActionResult } from "~/lib/action-result";
import { field, parseForm, parseQuery } from "./forms.server";

/** What an error page of a share link needs; never more than the visitor may know. */
export interface ShareErrorData {
  message: string;
  reason?: "expired" | "exhausted";
  retryAfter?: number;
  /** When the visitor may try again (ISO), computed on the server. */
  retryAt?: string;
}

function errorInit(error: unknown): { status: number; body: ShareErrorData; headers: Record<string, string> } | null {
  if (!isAppError(error)) return null;
  const headers: Record<string, string> = { "Cache-Control": "no-store" };
  const body: ShareErrorData = { message: error.message };
  if (error instanceof TooManyRequestsError) {
    headers["Retry-After"] = String(error.retryAfter);
    body.retryAfter = error.retryAfter;
    body.retryAt = new Date(Date.now() + error.retryAfter * 1000).toISOString();
  }
  if (error instanceof ShareGoneError) body.reason = error.reason;
  return { status: error.status, body, headers };
}

/** Domain errors on share pages become error responses (with Retry-After on 429) for the ErrorBoundary. */
export function sharePageFailure(error: unknown): never {
  const init = errorInit(error);
  if (!init) throw error;
  throw data(init.body, { status: init.status, headers: init.headers });
}

/** Domain errors on share downloads become short plain-text answers. */
export function shareResourceFailure(error: unknown): Response {
  const init = errorInit(error);
  if (!init) throw error;
  return new Response(init.body.message, {
    status: init.status,
    headers: { ...init.headers, "Content-Type": "text/plain; charset=utf-8" },
  });
}

/** The link for a visitor: exists, usable, within the rate limit. A refusal of a known link is audited. */
export async function openShare(args: Pick<LoaderFunctionArgs, "params" | "context" | "request">): Promise<PublicShare> {
  const { services, clientIp } = args.context;
  const token = args.params.token ?? "";
  try {
    const link = await resolveShare(services, token);
    await limitShareViews(services, token, clientIp);
    return link;
  } catch (error) {
    const refusal = refusalOutcome(error);
    if (refusal) countShareAccess(refusal);
    if (error instanceof ShareGoneError) {
      await recordShareDenial(services, auditActor(args.request, clientIp, null), {
        targetType: "share",
        targetId: error.linkId,
        reason: error.denial,
      });
    }
    throw error;
  }
}

function refusalOutcome(error: unknown): ShareAccessOutcome | null {
  if (error instanceof ShareGoneError) return error.reason === "expired" ? "expired" : "limit_reached";
  if (error instanceof NotFoundError) return "not_found";
  if (error instanceof TooManyRequestsError) return "rate_limited";
  return null;
}

type PublicShareServices = LoaderFunctionArgs["context"]["services"];

/** Whether the visitor may see the opened link (no password, or a valid grant), counted as ok or password_required. */
async function admitted(services: PublicShareServices, link: PublicShare, request: Request): Promise<boolean> {
  const ok = await hasShareAccess(services, link, request);
  countShareAccess(ok ? "ok" : "password_required");
  return ok;
}

/** Downloads of a password-protected link without the password go to the password form. */
export async function requireShareAccess(args: Pick<LoaderFunctionArgs, "request" | "context">, link: PublicShare): Promise<void> {
  if (!(await admitted(args.context.services, link, args.request))) throw redirect(`/s/${link.token}`);
}

export type SharePageData =
  | { state: "password"; token: string; kind: "file" | "folder" }
  | {
      state: "file";
      token: string;
      file: { id: string; name: string; size: number; mimeType: string; updatedAt: Date };
      viewer: ViewerData;
      expiresAt: Date | null;
      downloadsLeft: number | null;
    }
  | {
      state: "folder";
      token: string;
      folderId: string;
      crumbs: Array<{ id: string; name: string }>;
      listing: Awaited<ReturnType<typeof listFolder>>;
      expiresAt: Date | null;
      downloadsLeft: number | null;
    }
  | { state: "drop"; token: string; folderName: string; expiresAt: Date | null; maxUploadSize: number };

/** The page for /s/<token> (folderId null) and /s/<token>/f/<folderId>. */
export async function sharePageLoader(args: LoaderFunctionArgs, folderId: string | null) {
  const { services } = args.context;
  try {
    const link = await openShare(args);
    const base = { token: link.token, expiresAt: link.expiresAt };
    const downloadsLeft = link.maxDownloads === null ? null : Math.max(0, link.maxDownloads - link.downloadCount);
    if (!(await admitted(services, link, args.request))) {
      return data<SharePageData>(
        { state: "password", token: link.token, kind: link.fileId ? "file" : "folder" },
        { headers: { "Cache-Control": "no-store" } },
      );
    }
    const viewed = () => recordShareView(services, link, auditActor(args.request, args.context.clientIp, null));
    if (link.file) {
      if (folderId !== null) throw new NotFoundError("That folder");
      const { id, name, size, mimeType, updatedAt, thumbnailKey } = link.file;
      // A link with a download limit shows no inline viewer: viewing would not be counted.
      const viewer = viewerForPage(
        args.context,
        await viewerData(services, link.file, {
          view: link.maxDownloads === null ? `/s/${link.token}/view/${id}` : null,
          thumbnail: thumbnailKey ? thumbnailUrl(id, thumbnailKey, link.token) : null,
        }),
      );
      await viewed();
      return data<SharePageData>({
        state: "file",
        ...base,
        file: { id, name, size: Number(size), mimeType, updatedAt },
        viewer,
        downloadsLeft,
      });
    }
    if (link.mode === "DROP") {
      // A drop never shows what is in the folder, nor its subfolders.
      if (folderId !== null) throw new NotFoundError("That folder");
      return data<SharePageData>({
        state: "drop",
        ...base,
        folderName: link.folder?.name ?? "",
        maxUploadSize: services.config.uploads.maxSize,
      });
    }
    const crumbs = await shareFolderChain(services, link, folderId ?? link.folderId ?? "");
    const folder = await folderById(services, crumbs.at(-1)!.id);
    const cursor = parseQuery(args.request, z.object({ after: field.hint() })).after ?? null;
    const listing = await listFolder(services, folder, cursor);
    await viewed();
    return data<SharePageData>({ state: "folder", ...base, folderId: folder.id, crumbs, listing, downloadsLeft });
  } catch (error) {
    sharePageFailure(error);
  }
}

export type ShareActionData = ActionResult;

const unlockForm = z.object({ intent: field.oneOf(["unlock"]), password: field.text(1_000) });

/** Password form (urlencoded) and file-drop uploads (multipart) on a share page. */
export async function shareAction(args: ActionFunctionArgs) {
  const { services, clientIp } = args.context;
  const { request } = args;
  try {
    const link = await openShare(args);
    const contentType = request.headers.get("content-type") ?? "";
    if (!contentType.startsWith("multipart/form-data")) {
      const { password } = await parseForm(request, unlockForm);
      const cookie = await unlockShare(services, link, password, auditActor(request, clientIp, null)).catch((error: unknown) => {
        if (error instanceof UnauthorizedError) countShareAccess("wrong_password");
        else if (error instanceof TooManyRequestsError) countShareAccess("rate_limited");
        throw error;
      });
      countShareAccess("unlocked");
      return redirect(new URL(request.url).pathname, { headers: { "Set-Cookie": cookie } });
    }
    if (!(await admitted(services, link, request))) throw new UnauthorizedError("Enter the password for this link first.");
    if (link.mode !== "DROP" || !link.folderId) throw new ValidationError("This link does not accept uploads.");
    const folderId = link.folderId;
    const names = await receiveMultipartUpload(
      request,
      { ownerId: link.ownerId, uploaderId: null, folderId },
      async (upload, _fields, land) => {
        // Recorded with the file: its share.dropped event tells the link's owner.
        const { file } = await land("keep-both", (landed) => ({
          userId: null,
          ownerId: landed.ownerId,
          action: "file.uploaded",
          subjectType: "file",
          subjectId: landed.id,
          details: { via: "share", shareId: link.id, name: landed.name, size: upload.size },
        }));
        await recordAudit(services, auditActor(request, clientIp, null), {
          action: "share.used",
          targetType: "share",
          targetId: link.id,
          details: { upload: file.id, name: file.name, size: upload.size },
        });
        // The visitor sees the name they sent, not what it became: nothing about the folder's contents.
        return upload.name;
      },
      services,
    );
    if (names.length === 0) throw new ValidationError("Choose a file to upload.", { file: "Choose a file to upload." });
    return data<ShareActionData>({
      ok: true,
      message: names.length === 1 ? `Sent “${names[0]}”. Thank you!` : `Sent ${names.length} files. Thank you!`,
    });
  } catch (error) {
    const init = errorInit(error);
    if (!init) throw error;
    // Gone, unknown or rate-limited links show their own page; form mistakes stay on the form.
    if (init.status === 404 || init.status === 410 || init.status === 429)
      throw data(init.body, { status: init.status, headers: init.headers });
    return data<ShareActionData>(
      { ok: false, message: init.body.message, fieldErrors: isAppError(error) ? error.fieldErrors : {} },
      { status: init.status, headers: init.headers },
    );
  }
}
