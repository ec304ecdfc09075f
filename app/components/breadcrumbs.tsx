import { Link } from "@remix-run/react";
import { dropHighlight, useDragMove } from "./drag-move";

export interface Crumb {
  id: string;
  name: string;
}

/** A breadcrumb trail whose last crumb is the current page. */
export function Breadcrumbs<T extends Crumb>({
  crumbs,
  href,
  reloadDocument = false,
}: {
  crumbs: T[];
  href: (crumb: T, index: number) => string;
  /** Share pages need full loads (their grant cookie is scoped to the page's path). */
  reloadDocument?: boolean;
}) {
  // On a folder page with JavaScript, items dragged from the listing can be dropped on a crumb.
  const drag = useDragMove();
  return (
    <nav aria-label="Breadcrumb">
      <ol className="flex flex-wrap items-center gap-1 text-sm text-text-muted">
        {crumbs.map((crumb, index) => (
          <li key={crumb.id} className="flex items-center gap-1">
            {index > 0 ? <span aria-hidden="true">/</span> : null}
            {index === crumbs.length - 1 ? (
              <span aria-current="page" className="font-medium text-text">
                {crumb.name}
              </span>
            ) : (
              <Link
                reloadDocument={reloadDocument}
                to={href(crumb, index)}
                className={`rounded text-accent-text hover:underline ${dropHighlight(!!drag?.isOver(crumb.id))}`}
                {...drag?.dropTarget(crumb.id, crumb.name)}
              >
                {crumb.name}
              </Link>
            )}
          </li>
        ))}
      </ol>
    </nav>
  );
}
