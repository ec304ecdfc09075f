import { redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { useActionData, useLoaderData, useLocation, useNavigation } from "@remix-run/react";
import { useEffect, useRef } from "react";
import { ItemActivitySection } from "~/components/activity-list";
import { DetailsHeading, LocationNav } from "~/components/details/details-header";
import { ItemDialogs } from "~/components/details/item-forms";
import { PropertiesSection } from "~/components/details/properties-section";
import { SharingSection } from "~/components/details/sharing-section";
import { VersionsSection } from "~/components/details/versions-section";
import { FormMessage } from "~/components/field";
import { FileViewer } from "~/components/file-viewer";
import { viewerForPage } from "~/lib/page-text.server";
import { itemActivity } from "~/domain/audit/activity.server";
import { canWrite } from "~/domain/sharing/access.server";
import { ConflictError, ValidationError } from "~/domain/errors";
import { closeOpenDialogs } from "~/components/ui/dialog";
import { Tabs } from "~/components/ui/tabs";
import { folderTotals, itemLocation, restoreVersionOfFile, sharingSummary } from "~/domain/files/file-details.server";
import { scanSummary } from "~/domain/files/malware-scans.server";
import { DESTINATION_PICKER_LIMIT, destinationFolders } from "~/domain/files/folder-tree.server";
import { copyItem } from "~/domain/files/copy.server";
import { accessTarget, getReadableItem, parseKind, parsePolicy } from "~/domain/files/operations.server";
import { moveItem, renameItem } from "~/domain/files/rename-move.server";
import { requireUser } from "~/route-helpers/guards.server";
import { viewerData } from "~/domain/files/previews.server";
import { imageGallery, videoSubtitles } from "~/domain/files/viewer-siblings.server";
import type { ViewerData } from "~/domain/files/viewer";
import { getSettings, versionLimit } from "~/domain/admin/settings.server";
import { trashItem } from "~/domain/files/trash.server";
import { Badge } from "~/components/ui/badge";
import { coveredItemIds, retainedFileDates } from "~/domain/files/holds.server";
import { listVersions } from "~/domain/files/versions.server";
import { thumbnailUrl } from "~/lib/thumbnails";
import { field, formValues, parseFormData, readForm, parseQuery } from "~/route-helpers/forms.server";
import { actionFailure, loaderFailure } from "~/route-helpers/http.server";
import { idParam } from "~/route-helpers/params.server";
import { z } from "zod";

/** Success messages after POST → redirect (`?done=<key>`), so a reload never repeats an action. */
const DONE_MESSAGES: Record<string, string> = {
  renamed: "Renamed.",
  moved: "Moved.",
  copied: "Copied. You are now looking at the copy.",
  replaced: "Done. The existing file was replaced; its earlier content is kept under Versions.",
  "version-restored": "Restored that version. The content it replaced is now listed under Versions.",
  skipped: "Nothing changed: the name was taken and you chose to skip.",
  "uploaded-to-root": "Uploaded. The folder it was going into was deleted meanwhile, so it was saved here, in your My files.",
};

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `${data?.item.name ?? "Details"} · Details · Coffer` }];

export async function loader({ request, params, context }: LoaderFunctionArgs) {
  const { services } = context;
  const user = await requireUser(services, request);
  try {
    const kind = parseKind(params.kind);
    const item = await getReadableItem(services, user, kind, params.id ?? "");
    const writable = await canWrite(services, user, accessTarget(item));
    const parentId = item.kind === "file" ? item.file.folderId : item.folder.parentId;
    const location = await itemLocation(services, user, parentId);
    const id = item.kind === "file" ? item.file.id : item.folder.id;
    const ownerId = item.kind === "file" ? item.file.ownerId : item.folder.ownerId;
    const thumbnail = item.kind === "file" && item.file.thumbnailKey ? thumbnailUrl(id, item.file.thumbnailKey) : null;
    const [sharing, versions, totals, destinations, settings, activity, viewer, malwareScan, held, retainedUntil] = await Promise.all([
      sharingSummary(services, kind, id),
      item.kind === "file" ? listVersions(services, user, id).then((r) => r.versions) : Promise.resolve([]),
      item.kind === "folder" ? folderTotals(services, id) : Promise.resolve(null),
      writable
        ? destinationFolders(services, user.id, item.kind === "folder" ? id : null)
        : Promise.resolve({ folders: [], truncated: false }),
      getSettings(services),
      itemActivity(services, user, { kind: item.kind, id, ownerId }),
      item.kind === "file"
        ? viewerData(services, item.file, { view: `/view/${id}`, thumbnail })
            .then((v) => withSiblings(services, user, item.file, v))
            .then((v) => viewerForPage(context, v))
        : Promise.resolve(null),
      item.kind === "file" ? scanSummary(services, item.file.storageKey) : Promise.resolve(null),
      coveredItemIds(services.prisma, kind === "file" ? [id] : [], kind === "folder" ? [id] : []).then((ids) => ids.has(id)),
      item.kind === "file" ? retainedFileDates(services.prisma, [id]).then((dates) => dates.get(id) ?? null) : Promise.resolve(null),
    ]);
    const { done, tab } = parseQuery(request, z.object({ done: field.hint(40), tab: field.hint(20) }));
    return {
      item:
        item.kind === "file"
          ? {
              kind: "file" as const,
              id,
              name: item.file.name,
              isRoot: false,
              size: Number(item.file.size),
              mimeType: item.file.mimeType,
              sha256: item.file.sha256,
              malwareScan,
              thumbnail,
              createdAt: item.file.createdAt,
              updatedAt: item.file.updatedAt,
              parentId,
            }
          : {
              kind: "folder" as const,
              id,
              name: item.folder.parentId === null ? "My files" : item.folder.name,
              isRoot: item.folder.parentId === null,
              size: totals?.size ?? 0,
              files: totals?.files ?? 0,
              folders: totals?.folders ?? 0,
              mimeType: null,
              sha256: null,
              thumbnail: null,
              createdAt: item.folder.createdAt,
              updatedAt: item.folder.updatedAt,
              parentId,
            },
      location,
      viewer,
      versions: versions.map((v) => ({
        id: v.id,
        size: Number(v.size),
        mimeType: v.mimeType,
        sha256: v.sha256,
        createdAt: v.createdAt,
        replacedAt: v.replacedAt,
      })),
      sharing,
      canWrite: writable,
      isOwner: user.id === (item.kind === "file" ? item.file.ownerId : item.folder.ownerId),
      destinations,
      pickerLimit: DESTINATION_PICKER_LIMIT,
      versionsKept: versionLimit(settings),
      versionRetentionDays: settings.versionRetentionDays,
      trashRetentionDays: settings.trashRetentionDays,
      done: done && DONE_MESSAGES[done] ? DONE_MESSAGES[done] : null,
      tab: detailsTab(tab ?? "", item.kind, item.kind === "folder" && item.folder.parentId === null),
      activity,
      held,
      retainedUntil: retainedUntil ? retainedUntil.toISOString() : null,
    };
  } catch (error) {
    loaderFailure(error);
  }
}

/**
 * An image's place among its folder's images (links to their details), a video's subtitles
 * (a sibling .vtt): only for who may read the folder.
 */
async function withSiblings(
  services: Parameters<typeof imageGallery>[0],
  user: Parameters<typeof imageGallery>[1],
  file: Parameters<typeof imageGallery>[2],
  viewer: ViewerData,
): Promise<ViewerData> {
  if (viewer.kind === "image") return { ...viewer, gallery: await imageGallery(services, user, file, (id) => `/details/file/${id}`) };
  if (viewer.kind === "video") return { ...viewer, subtitles: await videoSubtitles(services, user, file, (id) => `/view/${id}`) };
  return viewer;
}

/** The details page's tabs (`?tab=`); an unknown or missing one is Info. */
export const DETAILS_TABS = ["info", "sharing", "versions", "activity"] as const;
type DetailsTab = (typeof DETAILS_TABS)[number];

function detailsTab(raw: string, kind: "file" | "folder", isRoot: boolean): DetailsTab {
  const tabs = tabsFor(kind, isRoot).map((t) => t.id);
  return (tabs as string[]).includes(raw) ? (raw as DetailsTab) : "info";
}

function tabsFor(kind: "file" | "folder", isRoot: boolean): Array<{ id: DetailsTab; label: string }> {
  return [
    { id: "info", label: "Info" },
    ...(isRoot ? [] : [{ id: "sharing" as const, label: "Sharing" }]),
    ...(kind === "file" ? [{ id: "versions" as const, label: "Versions" }] : []),
    { id: "activity", label: "Activity" },
  ];
}

const detailsForm = z.object({
  intent: field.oneOf(["rename", "move", "copy", "trash", "restore-version"]),
  name: field.text(),
  destination: field.text(),
  policy: field.hint(),
  versionId: field.text(),
});

/** What was typed, put back into the forms when an action is refused, so nothing is lost. */
function typedValues(form: FormData) {
  const text = (name: string) => {
    const value = form.get(name);
    return typeof value === "string" ? value : "";
  };
  return { name: text("name").slice(0, 1000), destination: text("destination").slice(0, 200), policy: text("policy").slice(0, 20) };
}

export async function action({ request, params, context }: ActionFunctionArgs) {
  const { services } = context;
  const user = await requireUser(services, request);
  const form = await readForm(request);
  const sent = formValues(form).intent;
  // Which form was sent, so its message shows beside it.
  const intent = typeof sent === "string" ? sent : "";
  try {
    const fields = parseFormData(form, detailsForm);
    const kind = parseKind(params.kind);
    const id = idParam(params, "id");
    const policy = () => parsePolicy(fields.policy || "cancel");
    // "Skip", offered after a name conflict: leave the item as it is.
    if (fields.policy === "skip" && ["rename", "move", "copy"].includes(fields.intent)) {
      return redirect(`/details/${kind}/${id}?done=skipped`);
    }
    const destination = () => {
      if (!fields.destination) throw new ValidationError("Choose a destination folder.", { destination: "Choose a destination folder." });
      return fields.destination;
    };
    switch (fields.intent) {
      case "rename": {
        const result = await renameItem(services, user, kind, id, fields.name, policy());
        return redirect(`/details/${result.kind}/${result.id}?done=${result.replaced ? "replaced" : "renamed"}`);
      }
      case "move": {
        const result = await moveItem(services, user, kind, id, destination(), policy());
        return redirect(`/details/${result.kind}/${result.id}?done=${result.replaced ? "replaced" : "moved"}`);
      }
      case "copy": {
        const result = await copyItem(services, user, kind, id, destination(), policy());
        return redirect(`/details/${result.kind}/${result.id}?done=${result.replaced ? "replaced" : "copied"}`);
      }
      case "trash": {
        const result = await trashItem(services, user, kind, id);
        return redirect(`/trash?done=trashed&item=${result.kind}:${result.id}`);
      }
      case "restore-version": {
        if (kind !== "file") throw new ValidationError("Only files have versions.");
        await restoreVersionOfFile(services, user, id, fields.versionId);
        return redirect(`/details/file/${id}?tab=versions&done=version-restored`);
      }
    }
  } catch (error) {
    // A name conflict with no choice made yet: the dialog then offers keep both, replace or skip.
    const nameTaken = error instanceof ConflictError && Boolean(error.fieldErrors?.name);
    return actionFailure(error, { intent, nameTaken, values: typedValues(form) });
  }
}

export default function Details() {
  const {
    item,
    location,
    viewer,
    versions,
    sharing,
    canWrite,
    isOwner,
    destinations,
    pickerLimit,
    versionsKept,
    versionRetentionDays,
    trashRetentionDays,
    done,
    tab,
    activity,
    held,
    retainedUntil,
  } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const navigation = useNavigation();
  const { key: locationKey } = useLocation();
  const busy = navigation.state === "submitting" ? String(navigation.formData?.get("intent") ?? "") : null;
  const errorFor = (intent: string) => (result && !result.ok && result.intent === intent ? result : null);
  const kindLabel = item.kind === "file" ? "file" : "folder";
  const openHref = item.kind === "folder" ? (item.isRoot ? "/files" : `/files/${item.id}`) : `/download/${item.id}`;
  const viewHref = item.kind === "file" && viewer && ["image", "pdf", "audio", "video"].includes(viewer.kind) ? `/view/${item.id}` : null;
  const editable = canWrite && !item.isRoot;
  const base = `/details/${item.kind}/${item.id}`;
  const tabs = tabsFor(item.kind, item.isRoot).map((t) => ({ ...t, href: t.id === "info" ? base : `${base}?tab=${t.id}` }));

  // A dialog's form that succeeded redirected here: close the dialog it was sent from (not on
  // the first render, where a dialog may have been opened from the URL's #rename…).
  const shownKey = useRef(locationKey);
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs once per navigation, on its key.
  useEffect(() => {
    if (shownKey.current === locationKey) return;
    shownKey.current = locationKey;
    if (!result || result.ok) closeOpenDialogs();
  }, [locationKey]);

  return (
    <div className="space-y-6">
      <LocationNav location={location} />
      <DetailsHeading item={item} openHref={openHref} viewHref={viewHref} isOwner={isOwner} canEdit={editable} />
      {held ? (
        <p className="flex flex-wrap items-center gap-2 text-sm text-text-muted" data-testid="legal-hold">
          <Badge tone="warning">Legal hold</Badge>
          <span>
            An administrator has placed this {kindLabel} on legal hold: it cannot be deleted or moved out of its held folder. It can still
            be changed; every version is kept.
          </span>
        </p>
      ) : null}
      {retainedUntil ? (
        <p className="flex flex-wrap items-center gap-2 text-sm text-text-muted" data-testid="retained-until">
          <Badge tone="warning">Retained until {retainedUntil.slice(0, 10)}</Badge>
          <span>A retention rule on its folder keeps this file: it cannot be deleted or moved out of that folder before then.</span>
        </p>
      ) : null}

      {/* One message per action: a refusal replaces an earlier success (the URL still says
          ?done=… after the failed POST), and a dialog's refusal shows only in that dialog. */}
      <div aria-live="polite">
        <FormMessage message={result ? null : done} tone="success" />
        {result && !result.ok && !["rename", "move", "copy", "trash"].includes(result.intent) ? (
          <FormMessage message={result.message} />
        ) : null}
      </div>

      <Tabs label="Details" tabs={tabs} current={tab} />
      <div data-testid={`details-tab-${tab}`} className="space-y-6">
        {tab === "info" ? (
          <>
            {viewer ? <FileViewer key={item.id} name={item.name} viewer={viewer} downloadHref={openHref} /> : null}
            <PropertiesSection item={item} location={location} />
          </>
        ) : null}
        {tab === "sharing" ? <SharingSection item={item} sharing={sharing} isOwner={isOwner} /> : null}
        {tab === "versions" && item.kind === "file" ? (
          <VersionsSection
            fileName={item.name}
            versions={versions}
            versionsKept={versionsKept}
            versionRetentionDays={versionRetentionDays}
            canWrite={canWrite}
            restoring={busy === "restore-version"}
          />
        ) : null}
        {tab === "activity" ? <ItemActivitySection entries={activity} kindLabel={kindLabel} /> : null}
      </div>

      {editable ? (
        <ItemDialogs
          item={item}
          destinations={destinations}
          pickerLimit={pickerLimit}
          trashRetentionDays={trashRetentionDays}
          refusedFor={errorFor}
          busy={busy}
        />
      ) : null}
    </div>
  );
}
