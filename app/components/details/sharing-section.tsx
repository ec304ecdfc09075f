import { Link } from "@remix-run/react";

/** How the item is shared, read-only; its owner gets a link to manage it. */
export function SharingSection({
  item,
  sharing,
  isOwner,
}: {
  item: { kind: "file" | "folder"; id: string };
  sharing: { links: number; people: number };
  isOwner: boolean;
}) {
  return (
    <section aria-labelledby="sharing-heading" className="card p-4">
      <h2 id="sharing-heading" className="text-lg font-semibold">
        Sharing
      </h2>
      <p className="mt-2 text-sm text-slate-700">
        {sharing.links === 0 && sharing.people === 0
          ? `This ${item.kind} is not shared.`
          : `${sharing.links} active public link${sharing.links === 1 ? "" : "s"}; shared with ${sharing.people} ${sharing.people === 1 ? "person" : "people"}.`}
      </p>
      {isOwner ? (
        <p className="mt-2 text-sm">
          <Link to={`/shares?item=${item.kind}:${item.id}`} className="text-blue-800 underline">
            Manage sharing
          </Link>
        </p>
      ) : null}
    </section>
  );
}
