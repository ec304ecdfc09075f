import { ButtonLink } from "~/components/ui/button";

const ADMIN_PAGES = [
  { to: "/admin", label: "Overview" },
  { to: "/admin/users", label: "Users" },
  { to: "/admin/settings", label: "Settings" },
  { to: "/admin/lifecycle", label: "Lifecycle" },
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
