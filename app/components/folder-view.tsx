import { Form, Link, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { useEffect, useRef } from "react";
import type { folderAction, folderLoader } from "~/lib/folder-route.server";
import { formatBytes, formatDate } from "~/lib/format";
import { FormMessage } from "./field";
import { FileIcon, FolderIcon } from "./icons";
import { UploadPanel } from "./upload-panel";

export function FolderView() {
  const { folder, crumbs, listing, maxUploadSize } = useLoaderData<typeof folderLoader>();
  const result = useActionData<typeof folderAction>();
  const navigation = useNavigation();
  const busyIntent = navigation.state === "submitting" ? navigation.formData?.get("intent") : null;
  const uploadingWithoutJs = navigation.state === "submitting" && navigation.formEncType === "multipart/form-data";
  const folderNameRef = useRef<HTMLInputElement>(null);
  const current = crumbs.at(-1);
  const isEmpty = listing.folders.length === 0 && listing.files.length === 0;

  useEffect(() => {
    if (result?.ok && folderNameRef.current) folderNameRef.current.value = "";
  }, [result]);

  return (
    <div className="space-y-6">
      <nav aria-label="Breadcrumb">
        <ol className="flex flex-wrap items-center gap-1 text-sm text-slate-600">
          {crumbs.map((crumb, index) => (
            <li key={crumb.id} className="flex items-center gap-1">
              {index > 0 ? <span aria-hidden="true">/</span> : null}
              {index === crumbs.length - 1 ? (
                <span aria-current="page" className="font-medium text-slate-900">
                  {crumb.name}
                </span>
              ) : (
                <Link to={crumb.isRoot ? "/files" : `/files/${crumb.id}`} className="text-blue-800 hover:underline">
                  {crumb.name}
                </Link>
              )}
            </li>
          ))}
        </ol>
      </nav>

      <div className="flex flex-wrap items-end justify-between gap-4">
        <h1 className="text-2xl font-semibold break-all">{current?.name ?? "My files"}</h1>
        {folder.canWrite ? (
          <Form method="post" className="flex items-end gap-2">
            <input type="hidden" name="intent" value="create-folder" />
            <div>
              <label htmlFor="new-folder-name" className="label">
                New folder
              </label>
              <input
                ref={folderNameRef}
                id="new-folder-name"
                name="name"
                required
                maxLength={255}
                className="input"
                placeholder="Folder name"
                aria-invalid={result && !result.ok && result.fieldErrors?.name ? true : undefined}
                aria-describedby={result && !result.ok && result.fieldErrors?.name ? "new-folder-error" : undefined}
              />
            </div>
            <button type="submit" className="btn-secondary" disabled={busyIntent === "create-folder"}>
              {busyIntent === "create-folder" ? "Creating…" : "Create folder"}
            </button>
          </Form>
        ) : null}
      </div>
      {result && !result.ok && result.fieldErrors?.name ? (
        <p id="new-folder-error" className="field-error">
          {result.fieldErrors.name}
        </p>
      ) : null}
      <FormMessage message={result?.message} tone={result?.ok ? "success" : "error"} />

      {folder.canWrite ? (
        <UploadPanel folderId={folder.id} maxUploadSize={maxUploadSize}>
          {/* Without JavaScript this plain form streams the files to the server. */}
          <Form method="post" encType="multipart/form-data" className="flex flex-wrap items-end gap-2">
            <div>
              <label htmlFor="upload-file" className="label">
                Upload files
              </label>
              <input id="upload-file" name="file" type="file" multiple required className="text-sm" />
            </div>
            <button type="submit" className="btn-primary" disabled={uploadingWithoutJs}>
              {uploadingWithoutJs ? "Uploading…" : "Upload"}
            </button>
            <p className="w-full text-sm text-slate-600">Up to {formatBytes(maxUploadSize)} per file.</p>
          </Form>
        </UploadPanel>
      ) : null}

      <section aria-labelledby="contents-heading" className="card overflow-x-auto">
        <h2 id="contents-heading" className="sr-only">
          Folder contents
        </h2>
        {isEmpty ? (
          <div className="p-10 text-center">
            <p className="font-medium">This folder is empty.</p>
            <p className="mt-1 text-sm text-slate-600">Upload files or create a folder to get started.</p>
          </div>
        ) : (
          <table className="w-full text-left text-sm">
            <thead className="border-b border-slate-200 bg-slate-50 text-slate-700">
              <tr>
                <th scope="col" className="px-4 py-2 font-medium">
                  Name
                </th>
                <th scope="col" className="px-4 py-2 font-medium">
                  Size
                </th>
                <th scope="col" className="hidden px-4 py-2 font-medium sm:table-cell">
                  Type
                </th>
                <th scope="col" className="hidden px-4 py-2 font-medium md:table-cell">
                  Modified
                </th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {listing.folders.map((child) => (
                <tr key={child.id} className="hover:bg-slate-50">
                  <td className="px-4 py-2">
                    <Link to={`/files/${child.id}`} className="flex items-center gap-2 font-medium text-blue-800 hover:underline">
                      <FolderIcon />
                      <span className="break-all">{child.name}</span>
                    </Link>
                  </td>
                  <td className="px-4 py-2 text-slate-600">—</td>
                  <td className="hidden px-4 py-2 text-slate-600 sm:table-cell">Folder</td>
                  <td className="hidden px-4 py-2 text-slate-600 md:table-cell">{formatDate(child.updatedAt)}</td>
                </tr>
              ))}
              {listing.files.map((file) => (
                <tr key={file.id} className="hover:bg-slate-50">
                  <td className="px-4 py-2">
                    <a href={`/download/${file.id}`} className="flex items-center gap-2 text-blue-800 hover:underline" download>
                      <FileIcon />
                      <span className="break-all">{file.name}</span>
                    </a>
                  </td>
                  <td className="px-4 py-2 whitespace-nowrap text-slate-700">{formatBytes(file.size)}</td>
                  <td className="hidden px-4 py-2 text-slate-600 sm:table-cell">{file.mimeType}</td>
                  <td className="hidden px-4 py-2 text-slate-600 md:table-cell">{formatDate(file.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {listing.nextCursor ? (
          <div className="border-t border-slate-200 p-3 text-right">
            <Link to={`?after=${encodeURIComponent(listing.nextCursor)}`} className="btn-secondary">
              Next page
            </Link>
          </div>
        ) : null}
      </section>
    </div>
  );
}
