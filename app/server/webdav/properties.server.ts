import type { File as FileRecord, Folder } from "~/generated/prisma/client";
import { etagOf } from "~/domain/files/downloads.server";
import type { DeadProperty } from "~/domain/webdav/properties.server";
import { type DavLock, lockCovers } from "~/domain/webdav/locks.server";
import { DAV, escapeXml } from "./xml.server";
import { href } from "./paths.server";

/** One resource as PROPFIND shows it. */
export interface DavResource {
  segments: string[];
  collection: boolean;
  /** The file or folder id; null for the virtual `Shared with me`. */
  id: string | null;
  ownerId: string | null;
  displayName: string;
  etag: string;
  created: Date;
  modified: Date;
  size: number | null;
  mimeType: string | null;
}

export function folderEtag(folder: Pick<Folder, "id" | "updatedAt">): string {
  return `"${folder.id}-${folder.updatedAt.getTime().toString(36)}"`;
}

export function folderResource(segments: string[], folder: Folder, displayName?: string): DavResource {
  return {
    segments,
    collection: true,
    id: folder.id,
    ownerId: folder.ownerId,
    displayName: displayName ?? folder.name,
    etag: folderEtag(folder),
    created: folder.createdAt,
    modified: folder.updatedAt,
    size: null,
    mimeType: null,
  };
}

export function fileResource(segments: string[], file: FileRecord): DavResource {
  return {
    segments,
    collection: false,
    id: file.id,
    ownerId: file.ownerId,
    displayName: file.name,
    etag: etagOf(file),
    created: file.createdAt,
    modified: file.updatedAt,
    size: Number(file.size),
    mimeType: file.mimeType,
  };
}

export function sharedResource(name: string): DavResource {
  const epoch = new Date(0);
  return {
    segments: [name],
    collection: true,
    id: null,
    ownerId: null,
    displayName: name,
    etag: '"shared-with-me"',
    created: epoch,
    modified: epoch,
    size: null,
    mimeType: null,
  };
}

export const LIVE_PROPERTIES = [
  "creationdate",
  "displayname",
  "getlastmodified",
  "getetag",
  "resourcetype",
  "getcontentlength",
  "getcontenttype",
  "supportedlock",
  "lockdiscovery",
  "quota-available-bytes",
  "quota-used-bytes",
] as const;
/** RFC 4331: the quota properties are not part of allprop. */
const NOT_IN_ALLPROP = new Set(["quota-available-bytes", "quota-used-bytes"]);

export const SUPPORTED_LOCK =
  "<D:lockentry><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>" +
  "<D:lockentry><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>";

export function activeLock(lock: DavLock, now = Date.now()): string {
  const seconds = Math.max(0, Math.ceil((lock.expiresAt - now) / 1000));
  const root = lock.path === "" ? [] : lock.path.split("/");
  return (
    `<D:activelock><D:locktype><D:write/></D:locktype><D:lockscope><D:${lock.scope}/></D:lockscope>` +
    `<D:depth>${lock.depth === "0" ? "0" : "infinity"}</D:depth>` +
    (lock.owner ? `<D:owner>${lock.owner}</D:owner>` : "") +
    `<D:timeout>Second-${seconds}</D:timeout><D:locktoken><D:href>${escapeXml(lock.token)}</D:href></D:locktoken>` +
    `<D:lockroot><D:href>${escapeXml(href(root, false))}</D:href></D:lockroot></D:activelock>`
  );
}

export interface PropertyContext {
  locks: DavLock[];
  /** The owner's storage figures; null for another user's storage (a share), which stays private. */
  quota: (ownerId: string) => Promise<{ used: number; available: number | null } | null>;
}

/** A live DAV: property's element, or undefined when the resource does not have it. */
export async function liveProperty(name: string, resource: DavResource, context: PropertyContext): Promise<string | undefined> {
  switch (name) {
    case "creationdate":
      return `<D:creationdate>${resource.created.toISOString()}</D:creationdate>`;
    case "displayname":
      return `<D:displayname>${escapeXml(resource.displayName)}</D:displayname>`;
    case "getlastmodified":
      return `<D:getlastmodified>${resource.modified.toUTCString()}</D:getlastmodified>`;
    case "getetag":
      return `<D:getetag>${escapeXml(resource.etag)}</D:getetag>`;
    case "resourcetype":
      return resource.collection ? "<D:resourcetype><D:collection/></D:resourcetype>" : "<D:resourcetype/>";
    case "getcontentlength":
      return resource.size === null ? undefined : `<D:getcontentlength>${resource.size}</D:getcontentlength>`;
    case "getcontenttype":
      return resource.mimeType === null ? undefined : `<D:getcontenttype>${escapeXml(resource.mimeType)}</D:getcontenttype>`;
    case "supportedlock":
      return `<D:supportedlock>${SUPPORTED_LOCK}</D:supportedlock>`;
    case "lockdiscovery": {
      const path = resource.segments.join("/");
      const locks = context.locks.filter((lock) => lockCovers(lock, path));
      return `<D:lockdiscovery>${locks.map((lock) => activeLock(lock)).join("")}</D:lockdiscovery>`;
    }
    case "quota-used-bytes":
    case "quota-available-bytes": {
      if (!resource.collection || !resource.ownerId) return undefined;
      const quota = await context.quota(resource.ownerId);
      if (!quota) return undefined;
      if (name === "quota-used-bytes") return `<D:quota-used-bytes>${quota.used}</D:quota-used-bytes>`;
      return quota.available === null ? undefined : `<D:quota-available-bytes>${quota.available}</D:quota-available-bytes>`;
    }
    default:
      return undefined;
  }
}

function propertyElement(ns: string, name: string, inner: string): string {
  if (ns === DAV) return inner === "" ? `<D:${name}/>` : `<D:${name}>${inner}</D:${name}>`;
  return inner === "" ? `<${name} xmlns="${escapeXml(ns)}"/>` : `<${name} xmlns="${escapeXml(ns)}">${inner}</${name}>`;
}

export type PropfindMode = { kind: "allprop" } | { kind: "propname" } | { kind: "prop"; names: Array<{ ns: string; name: string }> };

function propstat(properties: string[], status: string): string {
  return properties.length === 0
    ? ""
    : `<D:propstat><D:prop>${properties.join("")}</D:prop><D:status>HTTP/1.1 ${status}</D:status></D:propstat>`;
}

/** One <D:response> of a PROPFIND multistatus. */
export async function propfindResponse(resource: DavResource, mode: PropfindMode, dead: DeadProperty[], context: PropertyContext) {
  const found: string[] = [];
  const missing: string[] = [];
  if (mode.kind === "prop") {
    for (const { ns, name } of mode.names) {
      const live = ns === DAV ? await liveProperty(name, resource, context) : undefined;
      const stored = live === undefined ? dead.find((p) => p.namespace === ns && p.name === name) : undefined;
      if (live !== undefined) found.push(live);
      else if (stored) found.push(propertyElement(ns, name, stored.value));
      else missing.push(propertyElement(ns, name, ""));
    }
  } else {
    for (const name of LIVE_PROPERTIES) {
      if (NOT_IN_ALLPROP.has(name) && mode.kind === "allprop") continue;
      const live = await liveProperty(name, resource, context);
      if (live !== undefined) found.push(mode.kind === "propname" ? `<D:${name}/>` : live);
    }
    for (const property of dead)
      found.push(propertyElement(property.namespace, property.name, mode.kind === "propname" ? "" : property.value));
  }
  return `<D:response><D:href>${escapeXml(href(resource.segments, resource.collection))}</D:href>${propstat(found, "200 OK")}${propstat(missing, "404 Not Found")}</D:response>`;
}
