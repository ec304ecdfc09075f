import { Form, isRouteErrorResponse, Link, useActionData, useLoaderData, useNavigation, useRouteError } from "@remix-run/react";
import type { ShareActionData, ShareErrorData, SharePageData } from "~/route-helpers/share-route.server";
import { formatBytes, formatDate } from "~/lib/format";
import { Breadcrumbs } from "./breadcrumbs";
import { FileViewer } from "./file-viewer";
import { FormMessage } from "./field";
import { FileIcon, FolderIcon } from "./icons";
import { TableHead } from "./table-head";
import { CsrfInput } from "~/components/csrf-input";
import { thumbnailUrl } from "~/lib/thumbnails";

/** One column width for every card of every share page state (issue 16: the cards differed). */
const SHARE_COLUMN = "mx-auto w-full max-w-2xl";

/**
 * The public page of a share link: password form, a file, a folder listing or a file drop.
 * Links and forms here load whole documents: the password cookie is scoped to /s/<token>, which
 * Remix's client-side data requests (/s/<token>.data) would not carry.
 */
export function SharePage() {
  const page = useLoaderData<SharePageData>() as unknown as SharePageData;
  switch (page.state) {
    case "password":
      return <PasswordForm token={page.token} kind={page.kind} />;
    case "file":
      return <SharedFile page={page} />;
    case "folder":
      return <SharedFolder page={page} />;
    case "drop":
      return <FileDrop page={page} />;
  }
}

function LinkFacts({ expiresAt, downloadsLeft }: { expiresAt: Date | string | null; downloadsLeft?: number | null }) {
  if (!expiresAt && (downloadsLeft === null || downloadsLeft === undefined)) return null;
  return (
    <p className="text-sm text-slate-600">
      {expiresAt ? <>Available until {formatDate(expiresAt)}. </> : null}
      {downloadsLeft !== null && downloadsLeft !== undefined ? (
        <>
          {downloadsLeft} download{downloadsLeft === 1 ? "" : "s"} left.
        </>
      ) : null}
    </p>
  );
}

function PasswordForm({ token, kind }: { token: string; kind: "file" | "folder" }) {
  const result = useActionData<ShareActionData>();
  const busy = useNavigation().state === "submitting";
  const error = result && !result.ok ? result.message : null;
  return (
    <div className={`card p-6 ${SHARE_COLUMN}`}>
      <h1 className="text-2xl font-semibold">This {kind} is protected</h1>
      <p className="mt-1 text-sm text-slate-600">Enter the password you were given with the link.</p>
      {/* Posts to the page it is on, so a protected subfolder opens where the visitor was going. */}
      <Form reloadDocument method="post" className="mt-6 space-y-4" data-token={token}>
        <CsrfInput />
        <FormMessage message={error} id="share-password-error" />
        <input type="hidden" name="intent" value="unlock" />
        <div>
          <label htmlFor="share-password" className="label">
            Password
          </label>
          <input
            id="share-password"
            name="password"
            type="password"
            required
            autoComplete="off"
            className="input"
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? "share-password-error" : undefined}
          />
        </div>
        <button type="submit" className="btn-primary w-full" disabled={busy}>
          {busy ? "Checking…" : "Open"}
        </button>
      </Form>
    </div>
  );
}

function SharedFile({ page }: { page: Extract<SharePageData, { state: "file" }> }) {
  return (
    <div className={`space-y-6 ${SHARE_COLUMN}`}>
      <div className="card p-6">
        <p className="text-sm text-slate-600">Shared file</p>
        <h1 className="mt-1 flex items-center gap-2 text-2xl font-semibold break-all">
          <FileIcon className="h-6 w-6 text-slate-500" />
          {page.file.name}
        </h1>
        <dl className="mt-4 grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-sm">
          <dt className="text-slate-600">Size</dt>
          <dd>{formatBytes(page.file.size)}</dd>
          <dt className="text-slate-600">Type</dt>
          <dd className="break-all">{page.file.mimeType}</dd>
          <dt className="text-slate-600">Modified</dt>
          <dd>{formatDate(page.file.updatedAt)}</dd>
        </dl>
        <div className="mt-4">
          <LinkFacts expiresAt={page.expiresAt} downloadsLeft={page.downloadsLeft} />
        </div>
        <a href={`/s/${page.token}/download/${page.file.id}`} className="btn-primary mt-6 w-full" download>
          Download
        </a>
      </div>
      <FileViewer
        key={page.file.id}
        name={page.file.name}
        viewer={page.viewer}
        downloadHref={`/s/${page.token}/download/${page.file.id}`}
      />
    </div>
  );
}

function SharedFolder({ page }: { page: Extract<SharePageData, { state: "folder" }> }) {
  const { token, crumbs, listing } = page;
  const current = crumbs.at(-1);
  const isEmpty = listing.folders.length === 0 && listing.files.length === 0;
  const folderHref = (id: string, index: number) => (index === 0 ? `/s/${token}` : `/s/${token}/f/${id}`);
  const zipHref = crumbs.length > 1 ? `/s/${token}/zip?folder=${encodeURIComponent(page.folderId)}` : `/s/${token}/zip`;
  return (
    <div className="space-y-6">
      <Breadcrumbs crumbs={crumbs} href={(crumb, index) => folderHref(crumb.id, index)} reloadDocument />
      <div className="flex flex-wrap items-end justify-between gap-4">
        <div>
          <p className="text-sm text-slate-600">Shared folder</p>
          <h1 className="text-2xl font-semibold break-all">{current?.name}</h1>
          <LinkFacts expiresAt={page.expiresAt} downloadsLeft={page.downloadsLeft} />
        </div>
        {!isEmpty ? (
          <a href={zipHref} className="btn-primary" download>
            Download all as ZIP
          </a>
        ) : null}
      </div>
      <section aria-labelledby="shared-contents-heading" className="card overflow-x-auto">
        <h2 id="shared-contents-heading" className="sr-only">
          Folder contents
        </h2>
        {isEmpty ? (
          <p className="p-10 text-center font-medium">This folder is empty.</p>
        ) : (
          <table className="w-full text-left text-sm">
            <TableHead
              columns={[{ label: "Name" }, { label: "Size" }, { label: "Type", hideBelow: "sm" }, { label: "Modified", hideBelow: "md" }]}
            />
            <tbody className="divide-y divide-slate-100">
              {listing.folders.map((child) => (
                <tr key={child.id}>
                  <td className="px-4 py-2">
                    <Link
                      reloadDocument
                      to={`/s/${token}/f/${child.id}`}
                      className="flex items-center gap-2 font-medium text-blue-800 hover:underline"
                    >
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
                <tr key={file.id}>
                  <td className="px-4 py-2">
                    <a href={`/s/${token}/download/${file.id}`} className="flex items-center gap-2 text-blue-800 hover:underline" download>
                      {file.thumbnailKey ? (
                        <img
                          src={thumbnailUrl(file.id, file.thumbnailKey, token)}
                          alt=""
                          loading="lazy"
                          className="h-8 w-8 shrink-0 rounded bg-slate-50 object-cover"
                          data-thumbnail-slot={file.id}
                        />
                      ) : (
                        <FileIcon />
                      )}
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
            <Link reloadDocument to={`?after=${encodeURIComponent(listing.nextCursor)}`} className="btn-secondary">
              Next page
            </Link>
          </div>
        ) : null}
      </section>
    </div>
  );
}

function FileDrop({ page }: { page: Extract<SharePageData, { state: "drop" }> }) {
  const result = useActionData<ShareActionData>();
  const navigation = useNavigation();
  const busy = navigation.state === "submitting";
  const fileError = result && !result.ok ? result.fieldErrors.file : undefined;
  return (
    <div className={`card p-6 ${SHARE_COLUMN}`}>
      <p className="text-sm text-slate-600">File drop</p>
      <h1 className="mt-1 text-2xl font-semibold break-all">Send files to “{page.folderName}”</h1>
      <p className="mt-2 text-sm text-slate-600">
        Files you send are delivered privately. You cannot see what others have sent, and nobody but the recipient can see yours.
      </p>
      <div className="mt-2">
        <LinkFacts expiresAt={page.expiresAt} />
      </div>
      <Form reloadDocument method="post" action={`/s/${page.token}`} encType="multipart/form-data" className="mt-6 space-y-4">
        <CsrfInput />
        <FormMessage message={result?.message} tone={result?.ok ? "success" : "error"} />
        <div>
          <label htmlFor="drop-file" className="label">
            Files to send
          </label>
          <input
            id="drop-file"
            name="file"
            type="file"
            multiple
            required
            className="text-sm"
            aria-invalid={fileError ? true : undefined}
            aria-describedby="drop-file-hint"
          />
          <p id="drop-file-hint" className="mt-1 text-sm text-slate-600">
            Up to {formatBytes(page.maxUploadSize)} per file.
          </p>
        </div>
        <button type="submit" className="btn-primary w-full" disabled={busy}>
          {busy ? "Sending…" : "Send files"}
        </button>
      </Form>
    </div>
  );
}

/** Not found, gone (expired or used up), too many requests: each with its own clear page. */
export function ShareErrorBoundary() {
  const error = useRouteError();
  let title = "Something went wrong";
  let message = "An unexpected error happened on our side. Please try again.";
  if (isRouteErrorResponse(error)) {
    const detail = (error.data as ShareErrorData | null) ?? null;
    if (error.status === 404) {
      title = "Link not found";
      message = "This link does not exist or is no longer shared. Check that you copied the whole address.";
    } else if (error.status === 410) {
      title = detail?.reason === "exhausted" ? "Download limit reached" : "Link expired";
      message = detail?.message ?? "This link can no longer be used.";
    } else if (error.status === 429) {
      title = "Too many requests";
      message = `${detail?.message ?? "Too many requests."}${detail?.retryAt ? ` You can try again after ${formatDate(detail.retryAt)}.` : ""}`;
    } else if (error.status < 500) {
      title = `Request failed (${error.status})`;
      message = detail?.message ?? message;
    }
  }
  return (
    <div className={`card p-6 ${SHARE_COLUMN}`} role="alert">
      <h1 className="text-xl font-semibold">{title}</h1>
      <p className="mt-2 text-slate-700">{message}</p>
    </div>
  );
}
