import {
  Form,
  isRouteErrorResponse,
  Link,
  useActionData,
  useLoaderData,
  useLocation,
  useNavigation,
  useRouteError,
} from "@remix-run/react";
import type { ShareActionData, ShareErrorData, SharePageData } from "~/route-helpers/share-route.server";
import { formatBytes, formatDate } from "~/lib/format";
import { Breadcrumbs } from "./breadcrumbs";
import { FileViewer } from "./file-viewer";
import { FormMessage } from "./field";
import { FileIcon, FolderIcon } from "./icons";
import { TableHead } from "./table-head";
import { CsrfInput } from "~/components/csrf-input";
import { thumbnailUrl } from "~/lib/thumbnails";
import { Button, ButtonLink, buttonClass } from "./ui/button";
import { Card } from "./ui/card";
import { cx } from "./ui/cx";
import { EmptyState } from "./ui/empty-state";
import { Input, Label } from "./ui/input";

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
    <p className="text-sm text-text-muted">
      {expiresAt ? <>Available until {formatDate(expiresAt)}. </> : null}
      {downloadsLeft !== null && downloadsLeft !== undefined ? (
        <>
          {downloadsLeft} download{downloadsLeft === 1 ? "" : "s"} left.
        </>
      ) : null}
    </p>
  );
}

/** The small line above a share page's title: what the visitor is looking at. */
function Eyebrow({ children }: { children: string }) {
  return <p className="text-sm font-medium text-text-muted">{children}</p>;
}

function PasswordForm({ token, kind }: { token: string; kind: "file" | "folder" }) {
  const result = useActionData<ShareActionData>();
  const busy = useNavigation().state === "submitting";
  const error = result && !result.ok ? result.message : null;
  return (
    <Card className={cx("p-6 sm:p-8", SHARE_COLUMN)} padding="none">
      <h1 className="text-2xl font-semibold">This {kind} is protected</h1>
      <p className="mt-1 text-sm text-text-muted">Enter the password you were given with the link.</p>
      {/* Posts to the page it is on, so a protected subfolder opens where the visitor was going. */}
      <Form reloadDocument method="post" className="mt-6 space-y-4" data-token={token}>
        <CsrfInput />
        <FormMessage message={error} id="share-password-error" />
        <input type="hidden" name="intent" value="unlock" />
        <div>
          <Label htmlFor="share-password">Password</Label>
          <Input
            id="share-password"
            name="password"
            type="password"
            required
            autoComplete="off"
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? "share-password-error" : undefined}
          />
        </div>
        <Button type="submit" variant="primary" className="w-full" disabled={busy}>
          {busy ? "Checking…" : "Open"}
        </Button>
      </Form>
      <p className="mt-4 text-sm text-text-muted">No password? Ask the person who sent you the link.</p>
    </Card>
  );
}

function SharedFile({ page }: { page: Extract<SharePageData, { state: "file" }> }) {
  const downloadHref = `/s/${page.token}/download/${page.file.id}`;
  return (
    <div className={cx("space-y-6", SHARE_COLUMN)}>
      <Card className="p-6" padding="none">
        <Eyebrow>Shared file</Eyebrow>
        <h1 className="mt-1 flex items-start gap-2 text-2xl font-semibold break-all">
          <FileIcon className="mt-1 h-6 w-6 text-text-muted" />
          {page.file.name}
        </h1>
        <dl className="mt-4 grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-sm">
          <dt className="text-text-muted">Size</dt>
          <dd>{formatBytes(page.file.size)}</dd>
          <dt className="text-text-muted">Type</dt>
          <dd className="break-all">{page.file.mimeType}</dd>
          <dt className="text-text-muted">Modified</dt>
          <dd>{formatDate(page.file.updatedAt)}</dd>
        </dl>
        <div className="mt-4">
          <LinkFacts expiresAt={page.expiresAt} downloadsLeft={page.downloadsLeft} />
        </div>
        <a href={downloadHref} className={buttonClass("primary", "md", "mt-6 w-full")} download>
          Download
        </a>
      </Card>
      <FileViewer key={page.file.id} name={page.file.name} viewer={page.viewer} downloadHref={downloadHref} />
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
        <div className="min-w-0">
          <Eyebrow>Shared folder</Eyebrow>
          <h1 className="text-2xl font-semibold break-all">{current?.name}</h1>
          <LinkFacts expiresAt={page.expiresAt} downloadsLeft={page.downloadsLeft} />
        </div>
        {!isEmpty ? (
          <a href={zipHref} className={buttonClass("primary")} download>
            Download all as ZIP
          </a>
        ) : null}
      </div>
      <Card as="section" padding="none" aria-labelledby="shared-contents-heading" className="overflow-x-auto">
        <h2 id="shared-contents-heading" className="sr-only">
          Folder contents
        </h2>
        {isEmpty ? (
          <div className="p-4">
            <EmptyState title="This folder is empty.">
              Nothing has been put in it yet. Reload the page later, or ask the person who shared it.
            </EmptyState>
          </div>
        ) : (
          <table className="w-full text-left text-sm">
            <TableHead
              columns={[{ label: "Name" }, { label: "Size" }, { label: "Type", hideBelow: "sm" }, { label: "Modified", hideBelow: "md" }]}
            />
            <tbody className="divide-y divide-border">
              {listing.folders.map((child) => (
                <tr key={child.id} className="hover:bg-surface-hover">
                  <td className="px-4 py-2">
                    <Link
                      reloadDocument
                      to={`/s/${token}/f/${child.id}`}
                      className="flex min-h-6 items-center gap-2 font-medium text-accent-text hover:underline"
                    >
                      <FolderIcon />
                      <span className="break-all">{child.name}</span>
                    </Link>
                  </td>
                  <td className="px-4 py-2 text-text-muted">—</td>
                  <td className="hidden px-4 py-2 text-text-muted sm:table-cell">Folder</td>
                  <td className="hidden px-4 py-2 text-text-muted md:table-cell">{formatDate(child.updatedAt)}</td>
                </tr>
              ))}
              {listing.files.map((file) => (
                <tr key={file.id} className="hover:bg-surface-hover">
                  <td className="px-4 py-2">
                    <a
                      href={`/s/${token}/download/${file.id}`}
                      className="flex min-h-6 items-center gap-2 text-accent-text hover:underline"
                      download
                    >
                      {file.thumbnailKey ? (
                        <img
                          src={thumbnailUrl(file.id, file.thumbnailKey, token)}
                          alt=""
                          loading="lazy"
                          className="h-8 w-8 shrink-0 rounded bg-surface object-cover"
                          data-thumbnail-slot={file.id}
                        />
                      ) : (
                        <FileIcon />
                      )}
                      <span className="break-all">{file.name}</span>
                    </a>
                  </td>
                  <td className="px-4 py-2 whitespace-nowrap text-text">{formatBytes(file.size)}</td>
                  <td className="hidden px-4 py-2 break-all text-text-muted sm:table-cell">{file.mimeType}</td>
                  <td className="hidden px-4 py-2 text-text-muted md:table-cell">{formatDate(file.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {listing.nextCursor ? (
          <div className="border-t border-border p-3 text-right">
            <ButtonLink reloadDocument to={`?after=${encodeURIComponent(listing.nextCursor)}`} variant="secondary">
              Next page
            </ButtonLink>
          </div>
        ) : null}
      </Card>
    </div>
  );
}

function FileDrop({ page }: { page: Extract<SharePageData, { state: "drop" }> }) {
  const result = useActionData<ShareActionData>();
  const navigation = useNavigation();
  const busy = navigation.state === "submitting";
  const fileError = result && !result.ok ? result.fieldErrors.file : undefined;
  return (
    <Card className={cx("p-6 sm:p-8", SHARE_COLUMN)} padding="none">
      <Eyebrow>File drop</Eyebrow>
      <h1 className="mt-1 text-2xl font-semibold break-all">Send files to “{page.folderName}”</h1>
      <p className="mt-2 text-sm text-text-muted">
        Files you send are delivered privately. You cannot see what others have sent, and nobody but the recipient can see yours.
      </p>
      <div className="mt-2">
        <LinkFacts expiresAt={page.expiresAt} />
      </div>
      <Form reloadDocument method="post" action={`/s/${page.token}`} encType="multipart/form-data" className="mt-6 space-y-4">
        <CsrfInput />
        <FormMessage message={result?.message} tone={result?.ok ? "success" : "error"} />
        <div>
          <Label htmlFor="drop-file">Files to send</Label>
          <input
            id="drop-file"
            name="file"
            type="file"
            multiple
            required
            className="block w-full rounded-control border border-dashed border-border-strong bg-surface p-3 text-sm text-text file:mr-3 file:rounded-control file:border-0 file:bg-surface-hover file:px-3 file:py-1.5 file:font-medium file:text-text"
            aria-invalid={fileError ? true : undefined}
            aria-describedby="drop-file-hint"
          />
          <p id="drop-file-hint" className="mt-1 text-sm text-text-muted">
            Up to {formatBytes(page.maxUploadSize)} per file.
          </p>
        </div>
        <Button type="submit" variant="primary" className="w-full" disabled={busy}>
          {busy ? "Sending…" : "Send files"}
        </Button>
      </Form>
    </Card>
  );
}

/**
 * Not found, gone (expired, used up or revoked), too many requests: each with its own page that
 * says what happened and what the visitor can do next.
 */
export function ShareErrorBoundary() {
  const error = useRouteError();
  const location = useLocation();
  let title = "Something went wrong";
  let message = "An unexpected error happened on our side.";
  let next = "Try again in a moment. If it keeps happening, tell the person who shared the link.";
  let retry = true;
  if (isRouteErrorResponse(error)) {
    const detail = (error.data as ShareErrorData | null) ?? null;
    if (error.status === 404) {
      title = "Link not found";
      message = "This link does not exist or is no longer shared. Check that you copied the whole address.";
      next = "If it is right, the link was probably turned off: ask the person who shared it for a new one.";
      retry = false;
    } else if (error.status === 410) {
      title = detail?.reason === "exhausted" ? "Download limit reached" : "Link expired";
      message = detail?.message ?? "This link can no longer be used.";
      next = "Ask the person who shared it for a new link.";
      retry = false;
    } else if (error.status === 429) {
      title = "Too many requests";
      message = `${detail?.message ?? "Too many requests."}${detail?.retryAt ? ` You can try again after ${formatDate(detail.retryAt)}.` : ""}`;
      next = "Wait a little, then try again.";
    } else if (error.status < 500) {
      title = `Request failed (${error.status})`;
      message = detail?.message ?? message;
      next = "Check the address, or ask the person who shared it for a new link.";
      retry = false;
    }
  }
  return (
    <Card className={cx("p-6 sm:p-8", SHARE_COLUMN)} padding="none" role="alert">
      <h1 className="text-xl font-semibold">{title}</h1>
      <p className="mt-2 text-text">{message}</p>
      <p className="mt-2 text-sm text-text-muted">{next}</p>
      {retry ? (
        <ButtonLink reloadDocument to={`${location.pathname}${location.search}`} variant="secondary" className="mt-6">
          Try again
        </ButtonLink>
      ) : null}
    </Card>
  );
}
