import { ButtonLink } from "~/components/ui/button";
import { Card } from "~/components/ui/card";

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
    <Card title="Sharing" aria-label="Sharing">
      <p className="text-sm">
        {sharing.links === 0 && sharing.people === 0
          ? `This ${item.kind} is not shared.`
          : `${sharing.links} active public link${sharing.links === 1 ? "" : "s"}; shared with ${sharing.people} ${sharing.people === 1 ? "person" : "people"}.`}
      </p>
      {isOwner ? (
        <p className="mt-3">
          <ButtonLink to={`/shares?item=${item.kind}:${item.id}`} variant="secondary">
            Manage sharing
          </ButtonLink>
        </p>
      ) : (
        <p className="mt-2 text-sm text-text-muted">Only the owner can change how it is shared.</p>
      )}
    </Card>
  );
}
