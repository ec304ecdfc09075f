import { z } from "zod";
import { offloadableDownloadReply } from "~/domain/files/downloads.server";
import { restoreVersionOfFile } from "~/domain/files/file-details.server";
import { getReadableFile } from "~/domain/files/files.server";
import { getReadableItem, getWritableItem } from "~/domain/files/operations.server";
import { listVersions, versionDownloadReply } from "~/domain/files/versions.server";
import { fileResponse } from "~/route-helpers/file-response.server";
import { defineOperation, json, type Operation } from "./operation.server";
import { changeIfMatches } from "./preconditions.server";
import { ApiProblem } from "./problem.server";
import { representItem } from "./representations.server";
import { File, IdParams, IfMatchHeader, VersionList, VersionParams } from "./schemas";

/** Downloads and versions: the same replies as the pages' download routes (Range, HEAD, ETag). */

const RangeHeader = z.object({
  range: z.string().optional().meta({ description: "A single byte range, e.g. `bytes=0-1023`." }),
});

const download = {
  200: { description: "The content.", contentType: "*/*" },
  206: { description: "The requested range of the content.", contentType: "*/*" },
};

export const fileContentOperations: Operation[] = [
  defineOperation({
    operationId: "downloadFile",
    method: "get",
    path: "/files/{id}/content",
    tag: "Files",
    summary: "Download a file",
    description: "Supports HEAD, Range (206/416) and conditional requests like the download page.",
    scope: "files:read",
    params: IdParams,
    headers: RangeHeader,
    responses: download,
    async handler({ services, principal, params, request }) {
      const file = await getReadableFile(services, principal.user, params.id);
      return fileResponse(await offloadableDownloadReply(services, file, request));
    },
  }),
  defineOperation({
    operationId: "listFileVersions",
    method: "get",
    path: "/files/{id}/versions",
    tag: "Versions",
    summary: "List a file's earlier versions",
    description: "Each time a file's content is replaced, the earlier content is kept as a version for a while.",
    scope: "files:read",
    params: IdParams,
    responses: { 200: { description: "Newest first.", schema: VersionList } },
    async handler({ services, principal, params }) {
      const { versions } = await listVersions(services, principal.user, params.id);
      return json({
        items: versions.map((v) => ({
          id: v.id,
          size: Number(v.size),
          mimeType: v.mimeType,
          sha256: v.sha256,
          createdAt: v.createdAt.toISOString(),
          replacedAt: v.replacedAt.toISOString(),
        })),
      });
    },
  }),
  defineOperation({
    operationId: "downloadFileVersion",
    method: "get",
    path: "/files/{id}/versions/{versionId}/content",
    tag: "Versions",
    summary: "Download an earlier version",
    description: "Like downloadFile, for a version of the file: Range and HEAD work the same.",
    scope: "files:read",
    params: VersionParams,
    headers: RangeHeader,
    responses: download,
    async handler({ services, principal, params, request }) {
      const { versions } = await listVersions(services, principal.user, params.id);
      if (!versions.some((v) => v.id === params.versionId)) throw new ApiProblem(404, "That version was not found.");
      return fileResponse(await versionDownloadReply(services, principal.user, params.versionId, request));
    },
  }),
  defineOperation({
    operationId: "restoreFileVersion",
    method: "post",
    path: "/files/{id}/versions/{versionId}/restore",
    tag: "Versions",
    summary: "Make an earlier version the current content",
    description: "The content it replaces becomes a version in turn. Send If-Match (the file's ETag) to refuse a lost update.",
    scope: "files:write",
    params: VersionParams,
    headers: IfMatchHeader,
    problems: [412],
    responses: { 200: { description: "The file after the restore.", schema: File, headers: { ETag: "Its entity tag." } } },
    async handler({ services, principal, params, request }) {
      const { versions } = await listVersions(services, principal.user, params.id);
      if (!versions.some((v) => v.id === params.versionId)) throw new ApiProblem(404, "That version was not found.");
      await getWritableItem(services, principal.user, "file", params.id);
      await changeIfMatches(services, request, "file", params.id, () =>
        restoreVersionOfFile(services, principal.user, params.id, params.versionId),
      );
      const body = representItem(await getReadableItem(services, principal.user, "file", params.id));
      return json(body, 200, { ETag: body.etag });
    },
  }),
];
