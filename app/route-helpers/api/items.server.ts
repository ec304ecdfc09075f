import { z } from "zod";
import { auditActor } from "~/domain/audit/audit.server";
import { copyItem } from "~/domain/files/copy.server";
import { decodeCursor, listFolder } from "~/domain/files/folder-listing.server";
import { createFolder, getReadableFolder } from "~/domain/files/folders.server";
import { getTrashedItemRecord } from "~/domain/files/item-preconditions.server";
import { getReadableItem, getWritableItem, type ItemKind } from "~/domain/files/operations.server";
import { moveItem, renameItem } from "~/domain/files/rename-move.server";
import { deleteForever } from "~/domain/files/trash-purge.server";
import { restoreItem, trashItem } from "~/domain/files/trash.server";
import type { Services } from "~/services/index.server";
import { defineOperation, json, type Operation, type ResponseSpec } from "./operation.server";
import type { Principal } from "./principal.server";
import { ApiProblem } from "./problem.server";
import { assertMatches, changeIfMatches } from "./preconditions.server";
import { representItem } from "./representations.server";
import {
  CopyItem,
  CreateFolder,
  Deleted,
  File,
  Folder,
  FolderListing,
  IdempotencyHeader,
  IdParams,
  IfMatchHeader,
  ListQuery,
  UpdateItem,
} from "./schemas";

/** Files and folders: the same operations for both kinds, through the pages' domain functions. */

const ETAG_HEADER = { ETag: "The representation's entity tag." };

function itemResponse(kind: ItemKind, description: string): ResponseSpec {
  return { description, schema: kind === "file" ? File : Folder, headers: ETAG_HEADER };
}

async function readItem(services: Services, principal: Principal, kind: ItemKind, id: string) {
  return representItem(await getReadableItem(services, principal.user, kind, id));
}

function itemReply(body: { etag: string }, status = 200) {
  return json(body, status, { ETag: body.etag });
}

function itemOperations(kind: ItemKind): Operation[] {
  const plural = kind === "file" ? "files" : "folders";
  const Kind = kind === "file" ? "File" : "Folder";
  const tag = kind === "file" ? "Files" : "Folders";
  return [
    defineOperation({
      operationId: `get${Kind}`,
      method: "get",
      path: `/${plural}/{id}`,
      tag,
      summary: `Get a ${kind}'s metadata`,
      description: `The ${kind} and its ETag. Another user's ${kind} is not found (404) unless it is shared with you.`,
      scope: "files:read",
      params: IdParams,
      responses: { 200: itemResponse(kind, `The ${kind}.`) },
      async handler({ services, principal, params }) {
        return itemReply(await readItem(services, principal, kind, params.id));
      },
    }),
    defineOperation({
      operationId: `update${Kind}`,
      method: "patch",
      path: `/${plural}/{id}`,
      tag,
      summary: `Rename or move a ${kind}`,
      description: "Give `name` to rename, `parentId` to move, or both (rename first). Send If-Match to refuse a lost update.",
      scope: "files:write",
      params: IdParams,
      headers: IfMatchHeader,
      body: UpdateItem,
      problems: [409, 412],
      responses: { 200: itemResponse(kind, `The ${kind} after the change (the replaced file's id when onConflict is replace).`) },
      async handler({ services, principal, params, body, request }) {
        await getWritableItem(services, principal.user, kind, params.id);
        const id = await changeIfMatches(services, request, kind, params.id, async () => {
          let id = params.id;
          if (body.name !== undefined) id = (await renameItem(services, principal.user, kind, id, body.name, body.onConflict)).id;
          if (body.parentId !== undefined) id = (await moveItem(services, principal.user, kind, id, body.parentId, body.onConflict)).id;
          return id;
        });
        return itemReply(await readItem(services, principal, kind, id));
      },
    }),
    defineOperation({
      operationId: `copy${Kind}`,
      method: "post",
      path: `/${plural}/{id}/copy`,
      tag,
      summary: `Copy a ${kind} into a folder`,
      description:
        "Copies into a folder you may write to, keeping the name (onConflict decides when it is taken). Safe to retry with an Idempotency-Key; send If-Match to copy only the version you read.",
      scope: "files:write",
      params: IdParams,
      headers: IdempotencyHeader.extend(IfMatchHeader.shape),
      idempotent: true,
      body: CopyItem,
      problems: [409, 412],
      responses: { 201: itemResponse(kind, "The copy.") },
      async handler({ services, principal, params, body, request }) {
        assertMatches(request, await getReadableItem(services, principal.user, kind, params.id));
        const copied = await copyItem(services, principal.user, kind, params.id, body.destinationId, body.onConflict);
        return itemReply(await readItem(services, principal, kind, copied.id), 201);
      },
    }),
    defineOperation({
      operationId: `trash${Kind}`,
      method: "post",
      path: `/${plural}/{id}/trash`,
      tag,
      summary: `Move a ${kind} to the trash`,
      description:
        "Trashed items stay restorable until the trash retention ends. An item on legal hold is refused (409). Send If-Match to refuse a lost update.",
      scope: "files:write",
      params: IdParams,
      headers: IfMatchHeader,
      problems: [409, 412],
      responses: {
        204: { description: "Trashed.", headers: { ETag: "The trashed item's entity tag: send it in If-Match to restore or delete it." } },
      },
      async handler({ services, principal, params, request }) {
        await getWritableItem(services, principal.user, kind, params.id);
        await changeIfMatches(services, request, kind, params.id, () => trashItem(services, principal.user, kind, params.id));
        const trashed = representItem(await getTrashedItemRecord(services, principal.user, kind, params.id));
        return new Response(null, { status: 204, headers: { ETag: trashed.etag } });
      },
    }),
    defineOperation({
      operationId: `restore${Kind}`,
      method: "post",
      path: `/${plural}/{id}/restore`,
      tag,
      summary: `Restore a ${kind} from the trash`,
      description:
        "Back where it was, or into your top folder when that place is gone. Send If-Match (the ETag the trash answer gave) to refuse a lost update.",
      scope: "files:write",
      params: IdParams,
      headers: IfMatchHeader,
      problems: [409, 412],
      responses: { 200: itemResponse(kind, `The restored ${kind}.`) },
      async handler({ services, principal, params, request }) {
        await getTrashedItemRecord(services, principal.user, kind, params.id);
        await changeIfMatches(services, request, kind, params.id, () => restoreItem(services, principal.user, kind, params.id));
        return itemReply(await readItem(services, principal, kind, params.id));
      },
    }),
    defineOperation({
      operationId: `delete${Kind}`,
      method: "delete",
      path: `/${plural}/{id}`,
      tag,
      summary: `Delete a trashed ${kind} for good`,
      description:
        "Only items in the trash can be deleted; trash it first. An item on legal hold (or holding one) is refused (409). Send If-Match to refuse a lost update.",
      scope: "files:write",
      params: IdParams,
      headers: IfMatchHeader,
      problems: [409, 412],
      responses: { 200: { description: "Deleted.", schema: Deleted } },
      async handler({ services, principal, params, request, clientIp }) {
        await getTrashedItemRecord(services, principal.user, kind, params.id);
        const audit = auditActor(request, clientIp, principal.user);
        await changeIfMatches(services, request, kind, params.id, () => deleteForever(services, principal.user, kind, params.id, audit));
        return json({ kind, id: params.id, deleted: true });
      },
    }),
  ];
}

const RootFolderParams = z.strictObject({});

export const folderOperations: Operation[] = [
  defineOperation({
    operationId: "getRootFolder",
    method: "get",
    path: "/folders/root",
    tag: "Folders",
    summary: "Get your top folder (“My files”)",
    description: "The folder every one of your items is below; list it with listFolder.",
    scope: "files:read",
    params: RootFolderParams,
    responses: { 200: itemResponse("folder", "Your top folder.") },
    async handler({ services, principal }) {
      return itemReply(representItem({ kind: "folder", folder: await getReadableFolder(services, principal.user, null) }));
    },
  }),
  defineOperation({
    operationId: "listFolder",
    method: "get",
    path: "/folders/{id}/children",
    tag: "Folders",
    summary: "List a folder",
    description: "Subfolders first, then files, in the chosen order; paged with an opaque cursor.",
    scope: "files:read",
    params: IdParams,
    query: ListQuery,
    responses: { 200: { description: "One page of the folder.", schema: FolderListing } },
    async handler({ services, principal, params, query }) {
      const folder = await getReadableFolder(services, principal.user, params.id);
      if (query.cursor !== undefined && decodeCursor(query.cursor, query.sort, query.dir) === null) {
        throw new ApiProblem(422, "The cursor is not valid for this listing.", [
          { pointer: "/query/cursor", detail: "Use a nextCursor given for the same sort and dir." },
        ]);
      }
      const page = await listFolder(services, folder, query.cursor ?? null, { sort: query.sort, dir: query.dir, pageSize: query.limit });
      return json({
        folder: representItem({ kind: "folder", folder }),
        items: [
          ...page.folders.map((f) => ({
            kind: "folder",
            id: f.id,
            name: f.name,
            size: null,
            mimeType: null,
            updatedAt: f.updatedAt.toISOString(),
          })),
          ...page.files.map((f) => ({
            kind: "file",
            id: f.id,
            name: f.name,
            size: f.size,
            mimeType: f.mimeType,
            updatedAt: f.updatedAt.toISOString(),
          })),
        ],
        nextCursor: page.nextCursor,
      });
    },
  }),
  defineOperation({
    operationId: "createFolder",
    method: "post",
    path: "/folders",
    tag: "Folders",
    summary: "Create a folder",
    description: "Creates a folder in a folder you may write to (null: your top folder). Safe to retry with an Idempotency-Key.",
    scope: "files:write",
    headers: IdempotencyHeader,
    idempotent: true,
    body: CreateFolder,
    problems: [409],
    responses: { 201: itemResponse("folder", "The new folder.") },
    async handler({ services, principal, body }) {
      const folder = await createFolder(services, principal.user, body.parentId, body.name);
      return itemReply(representItem({ kind: "folder", folder }), 201);
    },
  }),
  ...itemOperations("folder"),
];

export const fileItemOperations: Operation[] = itemOperations("file");
