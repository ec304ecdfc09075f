import type { ReactNode } from "react";
import { ButtonLink } from "~/components/ui/button";

const ADMIN_PAGES = [
  { to: "/admin", label: "Overview" },
  { to: "/admin/users", label: "Users" },
  { to: "/admin/settings", label: "Settings" },
  { to: "/admin/lifecycle", label: "Lifecycle" },
  { to: "/admin/holds", label: "Legal holds" },
  { to: "/admin/analytics", label: "Analytics" },
  { to: "/admin/jobs", label: "Jobs" },
  { to: "/admin/audit", label: "Audit log" },
  { to: "/admin/tokens", label: "Access tokens" },
  { to: "/admin/system", label: "System" },
] as const;

export type AdminPage = (typeof ADMIN_PAGES)[number]["to"];

/** The administration pages, as links to every one but the page shown. */
export function AdminNav({ current }: { current: AdminPage }) {
  return (
    <nav aria-label="Administration" className="flex flex-wrap gap-2">
      {ADMIN_PAGES.filter((page) => page.to !== current).map((page) => (
        <ButtonLink variant="secondary" key={page.to} to={page.to}>
          {page.label}
        </ButtonLink>
      ))}
    </nav>
  );
}

/** An administration page's title, what it shows (children), and the links to the other pages. */
export function AdminHeader({ title, current, children }: { title: string; current: AdminPage; children?: ReactNode }) {
  return (
    <div className="flex flex-wrap items-start justify-between gap-4">
      <div>
        <h1 className="text-2xl font-semibold">{title}</h1>
        {children}
      </div>
      <AdminNav current={current} />
    </div>
  );
}
