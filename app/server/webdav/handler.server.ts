import { once } from "node:events";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type express from "express";
import type { File as FileRecord, Folder } from "~/generated/prisma/client";
import { AppError, isAppError } from "~/domain/errors";
import { copyItem } from "~/domain/files/copy.server";
import { downloadReply } from "~/domain/files/downloads.server";
import { detectMimeType, storeStream } from "~/domain/files/files.server";
import { listFolder } from "~/domain/files/folder-listing.server";
import { createFolder, getWritableFolder } from "~/domain/files/folders.server";
import { cleanName, nameKey } from "~/domain/files/names";
import { type ConflictPolicy, getWritableItem, type ItemKind, newStorageKey } from "~/domain/files/operations.server";
import { assertTypeAllowed, storageUsage, tooLargeError, uploadAllowance } from "~/domain/files/quota.server";
import { moveItem, renameItem } from "~/domain/files/rename-move.server";
import { deleteUnreferencedObjects } from "~/domain/files/shared-objects.server";
import { trashItem } from "~/domain/files/trash.server";
import { holdFault } from "~/domain/files/holds.server";
import { hasScope } from "~/domain/tokens/scopes";
import type { TokenPrincipal } from "~/domain/tokens/tokens.server";
import { landFormUpload } from "~/domain/uploads/upload-landing.server";
import { uploadActivity } from "~/domain/uploads/uploads.server";
import {
  createLock,
  type DavLock,
  LockedError,
  lockCovers,
  lockWithin,
  parseTimeout,
  refreshLock,
  removeLock,
  removeLocksWithin,
  userLocks,
} from "~/domain/webdav/locks.server";
import { type DavTarget, resolveDavPath, SHARED_FOLDER } from "~/domain/webdav/paths.server";
import {
  changeDeadProperties,
  copyDeadProperties,
  type deadProperties,
  MAX_PROPERTY_BYTES,
  type PropertyChange,
} from "~/domain/webdav/properties.server";
import { isDependencyUnavailable } from "~/services/dependency.server";
import type { Services } from "~/services/index.server";
import { ClientGoneError, UploadBody } from "../upload-body.server";
import { authenticateDav, REALM } from "./auth.server";
import { type IfList, parseIfHeader, submittedTokens } from "./if-header.server";
import { destinationSegments, href, lockPath, requestSegments } from "./paths.server";
import {
  activeLock,
  type DavResource,
  fileResource,
  folderEtag,
  folderResource,
  type PropertyContext,
  type PropfindMode,
  propfindResponse,
  sharedResource,
} from "./properties.server";
import { child, DAV, escapeXml, innerXml, parseXml, readSmallBody } from "./xml.server";

/**
 * The WebDAV endpoint (RFC 4918 class 1 and 2) at /dav/: each user's own tree, and what others
 * shared with them under `Shared with me/`. Every change goes through the same domain functions
 * as the pages (access, quotas, versions, trash, activity, search, live updates).
 */

const ALLOW = "OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, MKCOL, COPY, MOVE, LOCK, UNLOCK";
const WRITE_METHODS = new Set(["PUT", "DELETE", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK"]);
const XML_TYPE = 'application/xml; charset="utf-8"';
const LISTING_PAGE = 500;

interface Context {
  services: Services;
  req: express.Request;
  res: express.Response;
  principal: TokenPrincipal;
  segments: string[];
  path: string;
  ifLists: IfList[] | null;
  locks: DavLock[];
}

const user = (ctx: Context) => ctx.principal.user;

function send(res: express.Response, status: number, body = "", type = "text/plain; charset=utf-8") {
  res.status(status).set("Cache-Control", "no-store");
  if (body === "") {
    res.set("Content-Length", "0").end();
    return;
  }
  res.type(type).send(body);
}

function xmlDocument(body: string): string {
  return `<?xml version="1.0" encoding="utf-8"?>\n${body}`;
}

function davError(condition: string): string {
  return xmlDocument(`<D:error xmlns:D="DAV:"><D:${condition}/></D:error>`);
}

function hasBody(req: express.Request): boolean {
  const length = req.headers["content-length"];
  return (length !== undefined && length !== "0") || req.headers["transfer-encoding"] !== undefined;
}

function parseDepth(req: express.Request, fallback: "0" | "1" | "infinity"): "0" | "1" | "infinity" {
  const depth = (req.headers.depth as string | undefined)?.trim().toLowerCase();
  if (depth === undefined) return fallback;
  if (depth === "0" || depth === "1" || depth === "infinity") return depth;
  throw new AppError(400, "The Depth header must be 0, 1 or infinity.");
}

function resourceOf(segments: string[], target: DavTarget): DavResource | null {
  if (target.kind === "folder") return folderResource(segments, target.folder, target.isRoot ? "My files" : undefined);
  if (target.kind === "file") return fileResource(segments, target.file);
  if (target.kind === "shared") return sharedResource(SHARED_FOLDER);
  return null;
}

function etagOfTarget(target: DavTarget): string | null {
  if (target.kind === "folder") return folderEtag(target.folder);
  if (target.kind === "file") return resourceOf([], target)!.etag;
  return null;
}

/** RFC 4918 §10.4: true when some list of the If header holds. */
async function ifHolds(ctx: Context): Promise<boolean> {
  if (!ctx.ifLists) return true;
  const targets = new Map<string, Promise<DavTarget | null>>();
  const targetAt = (segments: string[]) => {
    const key = lockPath(segments);
    if (!targets.has(key))
      targets.set(
        key,
        resolveDavPath(ctx.services, user(ctx), segments).catch(() => null),
      );
    return targets.get(key)!;
  };
  for (const list of ctx.ifLists) {
    let segments = ctx.segments;
    if (list.resource !== null) {
      try {
        segments = destinationSegments(ctx.req, list.resource);
      } catch {
        continue;
      }
    }
    const path = lockPath(segments);
    let holds = true;
    for (const condition of list.conditions) {
      let met: boolean;
      if ("token" in condition) met = ctx.locks.some((lock) => lock.token === condition.token && lockCovers(lock, path));
      else {
        const target = await targetAt(segments);
        met = target !== null && etagOfTarget(target) === condition.etag;
      }
      if (met === condition.not) {
        holds = false;
        break;
      }
    }
    if (holds) return true;
  }
  return false;
}

/**
 * Refuses (423) a change of `path` when a lock covers it whose token the request did not submit;
 * `members`: the change removes or replaces what is below it too (DELETE, MOVE, COPY over it).
 * `parent`: the change adds or removes a member of the parent, which a lock on the parent guards.
 */
function assertUnlocked(ctx: Context, segments: string[], { members = false, parent = false } = {}) {
  const tokens = submittedTokens(ctx.ifLists);
  const path = lockPath(segments);
  const parentPath = lockPath(segments.slice(0, -1));
  for (const lock of ctx.locks) {
    const applies =
      lockCovers(lock, path) || (members && lockWithin(lock, path)) || (parent && segments.length > 0 && lock.path === parentPath);
    if (applies && !tokens.has(lock.token)) throw new LockedError(lock.path);
  }
}

function requireWrite(ctx: Context) {
  if (!hasScope(ctx.principal, "files:write")) throw new AppError(403, "This app password is read-only: it needs the files:write scope.");
}

function writeChunk(res: express.Response, chunk: string): Promise<void> | void {
  if (!res.write(chunk)) return once(res, "drain").then(() => {});
}

async function propfindMode(body: Buffer): Promise<PropfindMode> {
  const root = parseXml(body);
  if (!root) return { kind: "allprop" };
  if (root.ns !== DAV || root.name !== "propfind") throw new AppError(400, "The body must be a DAV:propfind element.");
  if (child(root, DAV, "propname")) return { kind: "propname" };
  const prop = child(root, DAV, "prop");
  if (prop) return { kind: "prop", names: prop.children.map((c) => ({ ns: c.ns, name: c.name })) };
  if (child(root, DAV, "allprop")) return { kind: "allprop" };
  throw new AppError(400, "The propfind element must hold prop, propname or allprop.");
}

function propertyContext(ctx: Context): PropertyContext {
  const quotas = new Map<string, Promise<{ used: number; available: number | null } | null>>();
  return {
    locks: ctx.locks,
    quota(ownerId) {
      if (ownerId !== user(ctx).id) return Promise.resolve(null);
      if (!quotas.has(ownerId)) {
        quotas.set(
          ownerId,
          storageUsage(ctx.services, ownerId).then((usage) => ({
            used: usage.usedBytes,
            available: usage.quotaBytes === null ? null : Math.max(0, usage.quotaBytes - usage.usedBytes),
          })),
        );
      }
      return quotas.get(ownerId)!;
    },
  };
}

async function deadOf(ctx: Context, mode: PropfindMode, ids: string[]) {
  const wanted = mode.kind !== "prop" || mode.names.some((n) => n.ns !== DAV);
  if (!wanted || ids.length === 0) return new Map<string, Awaited<ReturnType<typeof deadProperties>>>();
  const rows = await ctx.services.prisma.webdavProperty.findMany({
    where: { itemId: { in: ids } },
    select: { itemId: true, namespace: true, name: true, value: true },
  });
  const byId = new Map<string, Awaited<ReturnType<typeof deadProperties>>>();
  for (const row of rows) byId.set(row.itemId, [...(byId.get(row.itemId) ?? []), row]);
  return byId;
}

interface MembersPage {
  folders: Folder[];
  files: FileRecord[];
  dead: Map<string, Awaited<ReturnType<typeof deadProperties>>>;
  nextCursor: string | null;
}

/** One page of a folder's members (in the listing's order) with their dead properties. */
async function membersPage(ctx: Context, folder: Folder, mode: PropfindMode, cursor: string | null): Promise<MembersPage> {
  const page = await listFolder(ctx.services, folder, cursor, { pageSize: LISTING_PAGE });
  const folderIds = page.folders.map((f) => f.id);
  const fileIds = page.files.map((f) => f.id);
  const [folders, files, dead] = await Promise.all([
    folderIds.length > 0 ? ctx.services.prisma.folder.findMany({ where: { id: { in: folderIds } } }) : [],
    fileIds.length > 0 ? ctx.services.prisma.file.findMany({ where: { id: { in: fileIds } } }) : [],
    deadOf(ctx, mode, [...folderIds, ...fileIds]),
  ]);
  const inOrder = <T extends { id: string }>(ids: string[], rows: T[]) => {
    const byId = new Map(rows.map((row) => [row.id, row]));
    return ids.flatMap((id) => byId.get(id) ?? []);
  };
  return { folders: inOrder(folderIds, folders), files: inOrder(fileIds, files), dead, nextCursor: page.nextCursor };
}

async function propfind(ctx: Context) {
  const depth = parseDepth(ctx.req, "infinity");
  if (depth === "infinity") {
    send(ctx.res, 403, davError("propfind-finite-depth"), XML_TYPE);
    return;
  }
  const mode = await propfindMode(await readSmallBody(ctx.req));
  const target = await resolveDavPath(ctx.services, user(ctx), ctx.segments);
  const self = resourceOf(ctx.segments, target);
  if (!self) throw new AppError(404, "Nothing is at this path.");
  const context = propertyContext(ctx);
  const { res } = ctx;
  res.status(207).set({ "Content-Type": XML_TYPE, "Cache-Control": "no-store" });
  await writeChunk(res, xmlDocument('<D:multistatus xmlns:D="DAV:">'));
  const selfDead = self.id ? ((await deadOf(ctx, mode, [self.id])).get(self.id) ?? []) : [];
  await writeChunk(res, await propfindResponse(self, mode, selfDead, context));
  if (depth === "1" && target.kind === "shared") {
    const { listSharedWithMe } = await import("~/domain/sharing/user-shares.server");
    const seen = new Set<string>();
    for (const share of await listSharedWithMe(ctx.services, user(ctx))) {
      if (seen.has(nameKey(share.name))) continue;
      seen.add(nameKey(share.name));
      const shared = await resolveDavPath(ctx.services, user(ctx), [SHARED_FOLDER, share.name]).catch(() => null);
      const resource = shared && resourceOf([SHARED_FOLDER, share.name], shared);
      if (resource) await writeChunk(res, await propfindResponse(resource, mode, [], context));
    }
  }
  if (depth === "1" && target.kind === "folder") {
    if (target.isRoot) await writeChunk(res, await propfindResponse(sharedResource(SHARED_FOLDER), mode, [], context));
    const folder = target.folder;
    const sharedKey = nameKey(SHARED_FOLDER);
    // One page of the listing at a time, as one write: the next page is read from the database
    // while this one is rendered and sent, and at most two pages are held whatever the folder's size.
    let next: Promise<MembersPage> | null = membersPage(ctx, folder, mode, null);
    while (next) {
      const page: MembersPage = await next;
      next = page.nextCursor ? membersPage(ctx, folder, mode, page.nextCursor) : null;
      // A failed prefetch is reported by the await above on the next turn, not as unhandled.
      next?.catch(() => {});
      const parts: string[] = [];
      for (const member of page.folders) {
        if (target.isRoot && member.nameKey === sharedKey) continue;
        const resource = folderResource([...ctx.segments, member.name], member);
        parts.push(await propfindResponse(resource, mode, page.dead.get(member.id) ?? [], context));
      }
      for (const file of page.files) {
        const resource = fileResource([...ctx.segments, file.name], file);
        parts.push(await propfindResponse(resource, mode, page.dead.get(file.id) ?? [], context));
      }
      if (parts.length > 0) await writeChunk(res, parts.join(""));
    }
  }
  res.end("</D:multistatus>");
}

async function proppatch(ctx: Context) {
  requireWrite(ctx);
  const target = await resolveDavPath(ctx.services, user(ctx), ctx.segments);
  const root = parseXml(await readSmallBody(ctx.req));
  if (!root || root.ns !== DAV || root.name !== "propertyupdate") throw new AppError(400, "The body must be a DAV:propertyupdate element.");
  if (target.kind === "missing") throw new AppError(404, "Nothing is at this path.");
  if (target.kind === "shared") throw new AppError(403, "This folder cannot be changed.");
  const item = target.kind === "file" ? { kind: "file" as const, id: target.file.id } : { kind: "folder" as const, id: target.folder.id };
  await getWritableItem(ctx.services, user(ctx), item.kind, item.id);
  assertUnlocked(ctx, ctx.segments);
  const changes: PropertyChange[] = [];
  const names: Array<{ ns: string; name: string; protected: boolean }> = [];
  for (const action of root.children) {
    if (action.ns !== DAV || (action.name !== "set" && action.name !== "remove")) continue;
    for (const property of child(action, DAV, "prop")?.children ?? []) {
      const isLive = property.ns === DAV;
      names.push({ ns: property.ns, name: property.name, protected: isLive });
      if (isLive) continue;
      if (action.name === "remove") changes.push({ op: "remove", namespace: property.ns, name: property.name });
      else {
        const value = innerXml(property);
        if (Buffer.byteLength(value) > MAX_PROPERTY_BYTES) throw new AppError(413, "A property value is too large.");
        changes.push({ op: "set", property: { namespace: property.ns, name: property.name, value } });
      }
    }
  }
  const anyProtected = names.some((n) => n.protected);
  const stored =
    !anyProtected &&
    (await changeDeadProperties(ctx.services, target.kind === "file" ? target.file.ownerId : target.folder.ownerId, item.id, changes));
  const element = (n: { ns: string; name: string }) => (n.ns === DAV ? `<D:${n.name}/>` : `<${n.name} xmlns="${escapeXml(n.ns)}"/>`);
  const statusOf = (n: { protected: boolean }) =>
    stored ? "200 OK" : n.protected ? "403 Forbidden" : anyProtected ? "424 Failed Dependency" : "507 Insufficient Storage";
  const body = names
    .map((n) => `<D:propstat><D:prop>${element(n)}</D:prop><D:status>HTTP/1.1 ${statusOf(n)}</D:status></D:propstat>`)
    .join("");
  send(
    ctx.res,
    207,
    xmlDocument(
      `<D:multistatus xmlns:D="DAV:"><D:response><D:href>${escapeXml(href(ctx.segments, target.kind === "folder"))}</D:href>${body}</D:response></D:multistatus>`,
    ),
    XML_TYPE,
  );
}

async function mkcol(ctx: Context) {
  requireWrite(ctx);
  if (hasBody(ctx.req)) {
    ctx.req.resume();
    throw new AppError(415, "MKCOL takes no body.");
  }
  const target = await resolveDavPath(ctx.services, user(ctx), ctx.segments);
  if (target.kind !== "missing") throw new AppError(405, "Something already exists at this path.");
  if (!target.parent) throw new AppError(409, "The parent folder does not exist.");
  assertUnlocked(ctx, ctx.segments, { parent: true });
  await createFolder(ctx.services, user(ctx), target.parent.id, target.name);
  send(ctx.res, 201);
}

async function get(ctx: Context) {
  const target = await resolveDavPath(ctx.services, user(ctx), ctx.segments);
  if (target.kind === "missing") throw new AppError(404, "Nothing is at this path.");
  if (target.kind !== "file") {
    ctx.res.set("ETag", etagOfTarget(target) ?? '"shared-with-me"');
    send(ctx.res, 200, "This is a WebDAV folder. Open it with a WebDAV client or in Coffer.\n");
    return;
  }
  const headers = new Headers();
  for (const name of ["range", "if-range", "if-none-match", "if-modified-since", "if-match", "if-unmodified-since"]) {
    const value = ctx.req.headers[name];
    if (typeof value === "string") headers.set(name, value);
  }
  const request = new Request("http://coffer.invalid/", { method: ctx.req.method, headers });
  const reply = await downloadReply(ctx.services, target.file, request);
  ctx.res.status(reply.status);
  for (const [key, value] of reply.headers) ctx.res.setHeader(key, value);
  if (reply.body === null || ctx.req.method === "HEAD") {
    ctx.res.end();
    return;
  }
  if (typeof reply.body === "string") {
    ctx.res.end(reply.body);
    return;
  }
  await pipeline(reply.body, ctx.res);
}

async function put(ctx: Context) {
  requireWrite(ctx);
  const { services, req } = ctx;
  if (req.headers["content-range"]) throw new AppError(400, "Partial PUT (Content-Range) is not supported.");
  const target = await resolveDavPath(services, user(ctx), ctx.segments);
  if (target.kind === "folder" || target.kind === "shared") throw new AppError(405, "A folder cannot be written with PUT.");
  if (target.kind === "missing" && !target.parent) throw new AppError(409, "The parent folder does not exist.");
  // The room left is read beside the write check (one round trip less per small file); the
  // owner is the one the path resolved to, and the landing checks both again under its lock.
  const ownerId = target.kind === "file" ? target.file.ownerId : target.parent!.ownerId;
  const [writable, room] = await Promise.allSettled([
    target.kind === "file"
      ? getWritableItem(services, user(ctx), "file", target.file.id).then(() => ({ id: target.file.folderId, ownerId }))
      : getWritableFolder(services, user(ctx), target.parent!.id),
    uploadAllowance(services, ownerId, user(ctx).id),
  ]);
  if (writable.status === "rejected") throw writable.reason;
  if (room.status === "rejected") throw room.reason;
  const folder: { id: string; ownerId: string } = writable.value;
  assertUnlocked(ctx, ctx.segments, { parent: target.kind === "missing" });
  const name = cleanName(target.kind === "file" ? target.file.name : target.name, "File name");
  await assertTypeAllowed(services, name);
  const allowance = room.value;
  const declared = Number(req.headers["content-length"]);
  // Refused before a byte is stored: the client said how much is coming.
  if (Number.isFinite(declared) && declared > allowance.maxBytes) throw tooLargeError(allowance);
  const storageKey = newStorageKey();
  // One stream from the socket to the store (as for tus): it limits, counts and shows the bytes
  // to the hash, and fails (the store keeps nothing) when the client goes away mid-body.
  const body = new UploadBody(req, allowance.maxBytes, { clientGone: "fail", tooLarge: () => tooLargeError(allowance) });
  const { size, sha256 } = await storeStream(services, storageKey, body, allowance.maxBytes, () => tooLargeError(allowance), {
    size: Number.isSafeInteger(declared) && declared >= 0 && !req.headers["transfer-encoding"] ? declared : undefined,
  });
  const content = { name, size, sha256, storageKey, mimeType: detectMimeType(name, req.headers["content-type"]) };
  try {
    const landed = await landFormUpload(
      services,
      { folderId: folder.id, ownerId: folder.ownerId, uploaderId: user(ctx).id },
      content,
      "replace",
      uploadActivity(user(ctx).id, size),
    );
    ctx.res.set("ETag", fileResource([], landed.file).etag);
  } catch (error) {
    await deleteUnreferencedObjects(services, [storageKey]);
    throw error;
  }
  send(ctx.res, target.kind === "file" ? 204 : 201);
}

function itemOf(target: DavTarget): { kind: ItemKind; id: string } | null {
  if (target.kind === "file") return { kind: "file", id: target.file.id };
  if (target.kind === "folder" && !target.isRoot) return { kind: "folder", id: target.folder.id };
  return null;
}

async function remove(ctx: Context) {
  requireWrite(ctx);
  const target = await resolveDavPath(ctx.services, user(ctx), ctx.segments);
  if (target.kind === "missing") throw new AppError(404, "Nothing is at this path.");
  const item = itemOf(target);
  if (!item) throw new AppError(403, "This folder cannot be deleted.");
  assertUnlocked(ctx, ctx.segments, { members: true, parent: true });
  await trashItem(ctx.services, user(ctx), item.kind, item.id);
  await removeLocksWithin(ctx.services, user(ctx).id, ctx.path);
  send(ctx.res, 204);
}

async function copyOrMove(ctx: Context, move: boolean) {
  requireWrite(ctx);
  const { services } = ctx;
  const destination = destinationSegments(ctx.req, ctx.req.headers.destination as string | undefined);
  const overwrite = (ctx.req.headers.overwrite ?? "T").toString().trim().toUpperCase();
  if (overwrite !== "T" && overwrite !== "F") throw new AppError(400, "The Overwrite header must be T or F.");
  const depth = parseDepth(ctx.req, "infinity");
  if (depth === "1" || (move && depth === "0")) throw new AppError(400, "This Depth is not allowed here.");
  const source = await resolveDavPath(services, user(ctx), ctx.segments);
  if (source.kind === "missing") throw new AppError(404, "Nothing is at this path.");
  const item = itemOf(source);
  if (!item) throw new AppError(403, "This folder cannot be copied or moved.");
  const sourcePath = ctx.path;
  const destinationPath = lockPath(destination);
  if (destinationPath === sourcePath) throw new AppError(403, "The source and the destination are the same.");
  if (item.kind === "folder" && destinationPath.startsWith(`${sourcePath}/`)) throw new AppError(409, "A folder cannot go into itself.");
  if (destination.length === 0 || (destination[0] === SHARED_FOLDER && destination.length === 1))
    throw new AppError(403, "That destination cannot be replaced.");
  const target = await resolveDavPath(services, user(ctx), destination);
  if (target.kind === "missing" && !target.parent) throw new AppError(409, "The destination folder does not exist.");
  if (target.kind === "shared") throw new AppError(403, "That destination cannot be replaced.");
  const existed = target.kind !== "missing";
  if (existed && overwrite === "F") throw new AppError(412, "The destination exists and Overwrite is F.");
  if (move) assertUnlocked(ctx, ctx.segments, { members: true, parent: true });
  assertUnlocked(ctx, destination, { members: true, parent: true });
  const parentId = target.kind === "missing" ? target.parent!.id : target.kind === "file" ? target.file.folderId : target.folder.parentId!;
  const name = target.kind === "missing" ? target.name : destination[destination.length - 1]!;
  const destinationFolder = await getWritableFolder(services, user(ctx), parentId);
  // A file over a file keeps the destination's history (its content becomes a version); anything
  // else over an existing item sends that item to the trash first.
  let policy: ConflictPolicy = "cancel";
  if (existed && target.kind === "file" && item.kind === "file") policy = "replace";
  else if (existed) {
    const replaced = itemOf(target)!;
    await trashItem(services, user(ctx), replaced.kind, replaced.id);
  }
  const sourceName = source.kind === "file" ? source.file.name : source.kind === "folder" ? source.folder.name : "";
  const sourceParent = source.kind === "file" ? source.file.folderId : source.kind === "folder" ? source.folder.parentId : null;
  let id: string;
  if (move) {
    if (sourceParent === parentId) id = (await renameItem(services, user(ctx), item.kind, item.id, name, policy)).id;
    else if (nameKey(sourceName) === nameKey(name)) id = (await moveItem(services, user(ctx), item.kind, item.id, parentId, policy)).id;
    else {
      const moved = await moveItem(services, user(ctx), item.kind, item.id, parentId, "keep-both");
      id = (await renameItem(services, user(ctx), item.kind, moved.id, name, policy)).id;
    }
    await removeLocksWithin(services, user(ctx).id, sourcePath);
  } else if (item.kind === "folder" && depth === "0") {
    id = (await createFolder(services, user(ctx), parentId, name)).id;
  } else {
    const copied = await copyItem(services, user(ctx), item.kind, item.id, parentId, "keep-both");
    const copiedName =
      item.kind === "file"
        ? (await services.prisma.file.findUniqueOrThrow({ where: { id: copied.id }, select: { name: true } })).name
        : (await services.prisma.folder.findUniqueOrThrow({ where: { id: copied.id }, select: { name: true } })).name;
    id = copiedName === name ? copied.id : (await renameItem(services, user(ctx), item.kind, copied.id, name, policy)).id;
    // The copy belongs to the destination folder's owner, and so do its properties.
    await copyDeadProperties(services, item.id, id, destinationFolder.ownerId);
  }
  send(ctx.res, existed ? 204 : 201);
}

async function lock(ctx: Context) {
  requireWrite(ctx);
  const { services } = ctx;
  const body = parseXml(await readSmallBody(ctx.req));
  const timeoutSeconds = parseTimeout(ctx.req.headers.timeout as string | undefined);
  if (!body) {
    // A refresh: the lock is named in the If header.
    const token = [...submittedTokens(ctx.ifLists)][0];
    if (!token) throw new AppError(400, "A lock refresh names its lock token in the If header.");
    const refreshed = await refreshLock(services, user(ctx).id, token, ctx.path, timeoutSeconds);
    if (!refreshed) throw new AppError(412, "That lock token does not match a lock of this resource.");
    send(
      ctx.res,
      200,
      xmlDocument(`<D:prop xmlns:D="DAV:"><D:lockdiscovery>${activeLock(refreshed)}</D:lockdiscovery></D:prop>`),
      XML_TYPE,
    );
    return;
  }
  if (body.ns !== DAV || body.name !== "lockinfo") throw new AppError(400, "The body must be a DAV:lockinfo element.");
  const scopeElement = child(body, DAV, "lockscope");
  const scope = child(scopeElement, DAV, "exclusive") ? "exclusive" : child(scopeElement, DAV, "shared") ? "shared" : null;
  if (!scope || !child(child(body, DAV, "locktype"), DAV, "write"))
    throw new AppError(400, "Only write locks, exclusive or shared, are supported.");
  const owner = child(body, DAV, "owner");
  const depth = parseDepth(ctx.req, "infinity");
  if (depth === "1") throw new AppError(400, "A lock's Depth is 0 or infinity.");
  const target = await resolveDavPath(services, user(ctx), ctx.segments);
  if (target.kind === "shared" || (target.kind === "folder" && target.isRoot)) throw new AppError(403, "This folder cannot be locked.");
  if (target.kind === "missing" && !target.parent) throw new AppError(409, "The parent folder does not exist.");
  if (target.kind === "missing") await getWritableFolder(services, user(ctx), target.parent!.id);
  else await getWritableItem(services, user(ctx), itemOf(target)!.kind, itemOf(target)!.id);
  const created = await createLock(services, user(ctx).id, {
    path: ctx.path,
    depth: depth === "0" ? "0" : "infinity",
    scope,
    owner: owner ? innerXml(owner) : "",
    timeoutSeconds,
  });
  let status = 200;
  if (target.kind === "missing") {
    // Locking an unmapped URL creates an empty file (RFC 4918 §7.3).
    try {
      const storageKey = newStorageKey();
      const name = cleanName(target.name, "File name");
      await assertTypeAllowed(services, name);
      const { size, sha256 } = await storeStream(services, storageKey, Readable.from([]), 0);
      await landFormUpload(
        services,
        { folderId: target.parent!.id, ownerId: target.parent!.ownerId, uploaderId: user(ctx).id },
        { name, storageKey, size, sha256, mimeType: detectMimeType(name) },
        "cancel",
        uploadActivity(user(ctx).id, 0),
      );
      status = 201;
    } catch (error) {
      await removeLock(services, user(ctx).id, created.token, ctx.path);
      throw error;
    }
  }
  ctx.res.set("Lock-Token", `<${created.token}>`);
  send(ctx.res, status, xmlDocument(`<D:prop xmlns:D="DAV:"><D:lockdiscovery>${activeLock(created)}</D:lockdiscovery></D:prop>`), XML_TYPE);
}

async function unlock(ctx: Context) {
  // A read-only app password takes no locks, so it releases none (another client's included).
  requireWrite(ctx);
  const header = ctx.req.headers["lock-token"];
  const token = typeof header === "string" ? /^\s*<([^>]+)>\s*$/.exec(header)?.[1] : undefined;
  if (!token) throw new AppError(400, "The Lock-Token header is missing or malformed.");
  if (!(await removeLock(ctx.services, user(ctx).id, token, ctx.path))) {
    send(ctx.res, 409, davError("lock-token-matches-request-uri"), XML_TYPE);
    return;
  }
  send(ctx.res, 204);
}

function options(ctx: Context) {
  ctx.res.set({ DAV: "1, 2", "MS-Author-Via": "DAV", Allow: ALLOW });
  send(ctx.res, 200);
}

const HANDLERS: Record<string, (ctx: Context) => Promise<void> | void> = {
  OPTIONS: options,
  PROPFIND: propfind,
  PROPPATCH: proppatch,
  MKCOL: mkcol,
  GET: get,
  HEAD: get,
  PUT: put,
  DELETE: remove,
  COPY: (ctx) => copyOrMove(ctx, false),
  MOVE: (ctx) => copyOrMove(ctx, true),
  LOCK: lock,
  UNLOCK: unlock,
};

function sendError(services: Services, req: express.Request, res: express.Response, error: unknown) {
  if (res.headersSent) {
    services.log.warn("webdav response cut", { method: req.method, error });
    res.destroy();
    return;
  }
  if (error instanceof ClientGoneError) {
    // Nobody is left to answer; nothing was stored.
    services.log.info("webdav client went away mid-body", { method: req.method, received: error.received });
    res.destroy();
    return;
  }
  if (!req.complete) {
    res.set("Connection", "close");
    req.resume();
  }
  error = holdFault(error) ?? error;
  if (error instanceof LockedError) {
    const body = `<D:error xmlns:D="DAV:"><D:lock-token-submitted><D:href>${escapeXml(href(error.lockedPath === "" ? [] : error.lockedPath.split("/"), false))}</D:href></D:lock-token-submitted></D:error>`;
    send(res, 423, xmlDocument(body), XML_TYPE);
    return;
  }
  if (isAppError(error)) {
    if (error.status === 401) res.set("WWW-Authenticate", REALM);
    if (error.status === 429 && "retryAfter" in error) res.set("Retry-After", String(error.retryAfter));
    send(res, error.status, `${error.message}\n`);
    return;
  }
  services.log.error("webdav request failed", { method: req.method, error, stack: error instanceof Error ? error.stack : undefined });
  send(res, 500, "Something went wrong on our side. Please try again.\n");
}

/** The Express handler mounted at /dav. */
export function webdavHandler(services: Services): express.RequestHandler {
  return (req, res, next) => {
    const handler = HANDLERS[req.method];
    const run = async () => {
      if (!handler) {
        res.set("Allow", ALLOW);
        throw new AppError(405, "This method is not supported here.");
      }
      const principal = await authenticateDav(services, req);
      if (WRITE_METHODS.has(req.method) && req.method !== "LOCK" && req.method !== "UNLOCK") requireWrite({ principal } as Context);
      const segments = requestSegments(req);
      const ctx: Context = {
        services,
        req,
        res,
        principal,
        segments,
        path: lockPath(segments),
        ifLists: parseIfHeader(req.headers.if as string | undefined),
        locks: await userLocks(services, principal.user.id),
      };
      if (!(await ifHolds(ctx))) throw new AppError(412, "The If header's conditions do not hold.");
      await handler(ctx);
    };
    run().catch((error: unknown) => {
      if (isDependencyUnavailable(error)) return next(error);
      sendError(services, req, res, error);
    });
  };
}
