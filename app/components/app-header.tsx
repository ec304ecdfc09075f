import { Form, Link, NavLink } from "@remix-run/react";
import { CsrfInput } from "./csrf-input";
import { ThemeChoice } from "./theme-choice";
import { buttonClass } from "./ui/button";
import { cx } from "./ui/cx";
import { Input } from "./ui/input";
import { Menu, MenuLabel, MenuSeparator, menuItemClass } from "./ui/menu";

export interface HeaderUser {
  name: string;
  email: string;
  role: string;
  /** Unread notifications, counted up to UNREAD_SHOWN_UP_TO. */
  unread: number;
}

/** The bell counts this far and then says "99+": a larger figure tells nobody anything more. */
export const UNREAD_SHOWN_UP_TO = 100;

function unreadText(unread: number): string {
  return unread >= UNREAD_SHOWN_UP_TO ? `${UNREAD_SHOWN_UP_TO - 1}+` : String(unread);
}

function notificationsName(unread: number): string {
  return unread === 0 ? "Notifications" : `Notifications, ${unreadText(unread)} unread`;
}

const ACCOUNT_LINKS = [
  { to: "/settings/security", label: "Security" },
  { to: "/settings/privacy", label: "Privacy" },
  { to: "/settings/tokens", label: "Access tokens" },
  { to: "/settings/webhooks", label: "Webhooks" },
  { to: "/settings/notifications", label: "Notification settings" },
];

function mainLinks(user: HeaderUser) {
  return [
    { to: "/files", label: "Files" },
    { to: "/shared", label: "Shared with me" },
    { to: "/shares", label: "My links" },
    { to: "/trash", label: "Trash" },
    { to: "/activity", label: "Activity" },
    ...(user.role === "ADMIN" ? [{ to: "/admin", label: "Admin" }] : []),
  ];
}

function navClass({ isActive }: { isActive: boolean }) {
  return cx(
    "rounded-control px-2 py-1.5 whitespace-nowrap",
    isActive ? "font-semibold text-accent-text underline underline-offset-4" : "text-text-muted hover:bg-surface-hover hover:text-text",
  );
}

function menuNavClass({ isActive }: { isActive: boolean }) {
  return cx(menuItemClass, isActive && "font-semibold text-accent-text");
}

/**
 * The site header: one row from 1024 px (brand, main navigation, search, the user menu), and a
 * compact menu below that with the same links. Both menus are <details>, so they work without
 * JavaScript; components/ui/menu.tsx adds the keys.
 */
export function AppHeader({ user, canRegister }: { user: HeaderUser | null; canRegister: boolean }) {
  return (
    <header className="border-b border-border bg-surface-raised">
      <div className="mx-auto flex max-w-6xl flex-wrap items-center gap-x-4 gap-y-2 px-4 py-2 lg:flex-nowrap" data-testid="header-row">
        <Link to={user ? "/files" : "/"} className="flex shrink-0 items-center gap-2 text-lg font-semibold text-text">
          <CofferMark />
          Coffer
        </Link>
        {user ? <SignedIn user={user} /> : <SignedOut canRegister={canRegister} />}
      </div>
    </header>
  );
}

function SignedIn({ user }: { user: HeaderUser }) {
  const links = mainLinks(user);
  return (
    <>
      <nav aria-label="Main" className="hidden items-center gap-1 text-sm lg:flex" data-testid="main-nav">
        {links.map((link) => (
          <NavLink key={link.to} to={link.to} className={navClass}>
            {link.label}
          </NavLink>
        ))}
      </nav>
      <Form
        method="get"
        action="/search"
        role="search"
        className="order-last flex w-full min-w-0 gap-2 lg:order-none lg:ml-auto lg:max-w-sm lg:flex-1"
      >
        <label htmlFor="site-search" className="sr-only">
          Search files
        </label>
        <Input id="site-search" name="q" type="search" placeholder="Search files" className="min-w-0" />
        <button type="submit" className={buttonClass("secondary")}>
          Search
        </button>
      </Form>
      <NotificationBell unread={user.unread} />
      <Menu
        testId="user-menu"
        className="hidden lg:block"
        summaryClassName={cx(buttonClass("ghost"), "max-w-56")}
        name={`${user.name}, account menu`}
        label={<UserLabel user={user} />}
      >
        <AccountItems user={user} />
      </Menu>
      <Menu testId="compact-menu" className="ml-auto lg:hidden" summaryClassName={buttonClass("secondary")} label="Menu">
        <nav aria-label="Main">
          {links.map((link) => (
            <NavLink key={link.to} to={link.to} className={menuNavClass}>
              {link.label}
            </NavLink>
          ))}
        </nav>
        <NavLink to="/notifications" className={menuNavClass}>
          {notificationsName(user.unread)}
        </NavLink>
        <MenuSeparator />
        <AccountItems user={user} />
      </Menu>
    </>
  );
}

/** A link to /notifications with the unread count; the count is in its accessible name too. */
function NotificationBell({ unread }: { unread: number }) {
  return (
    <NavLink
      to="/notifications"
      aria-label={notificationsName(unread)}
      title={notificationsName(unread)}
      data-testid="notification-bell"
      className={({ isActive }) => cx(buttonClass("ghost"), "relative hidden shrink-0 px-2 lg:inline-flex", isActive && "text-accent-text")}
    >
      <svg aria-hidden="true" width="20" height="20" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2">
        <path d="M6 16V11a6 6 0 1 1 12 0v5l1.5 2h-15z" strokeLinejoin="round" />
        <path d="M10 20a2 2 0 0 0 4 0" strokeLinecap="round" />
      </svg>
      {unread > 0 ? (
        <span aria-hidden="true" className="min-w-5 rounded-full bg-accent px-1 text-center text-xs font-semibold text-on-accent">
          {unreadText(unread)}
        </span>
      ) : null}
    </NavLink>
  );
}

function UserLabel({ user }: { user: HeaderUser }) {
  return (
    <>
      <span
        aria-hidden="true"
        className="flex size-7 shrink-0 items-center justify-center rounded-full bg-accent text-xs font-semibold text-on-accent"
      >
        {(user.name.trim()[0] ?? "?").toUpperCase()}
      </span>
      <span className="truncate">{user.name}</span>
      <span aria-hidden="true" className="text-text-muted">
        ▾
      </span>
    </>
  );
}

function AccountItems({ user }: { user: HeaderUser }) {
  return (
    <>
      <MenuLabel>Account</MenuLabel>
      <p className="truncate px-3 pb-1 text-sm text-text-muted" title={user.email}>
        {user.email}
      </p>
      {ACCOUNT_LINKS.map((link) => (
        <NavLink key={link.to} to={link.to} className={menuNavClass}>
          {link.label}
        </NavLink>
      ))}
      <MenuSeparator />
      <ThemeChoice />
      <MenuSeparator />
      <Form method="post" action="/logout">
        <CsrfInput />
        <button type="submit" className={menuItemClass}>
          Log out
        </button>
      </Form>
    </>
  );
}

function SignedOut({ canRegister }: { canRegister: boolean }) {
  return (
    <div className="ml-auto flex items-center gap-3 text-sm">
      <nav aria-label="Account" className="flex gap-1">
        <NavLink to="/login" className={navClass}>
          Log in
        </NavLink>
        {canRegister ? (
          <NavLink to="/register" className={navClass}>
            Create account
          </NavLink>
        ) : null}
      </nav>
      <Menu testId="theme-menu" summaryClassName={buttonClass("ghost")} label="Theme">
        <ThemeChoice />
      </Menu>
    </div>
  );
}

function CofferMark() {
  return (
    <svg aria-hidden="true" width="24" height="24" viewBox="0 0 24 24" fill="none">
      <rect x="3" y="6" width="18" height="14" rx="2" className="fill-logo" />
      <rect x="3" y="4" width="18" height="5" rx="1.5" className="fill-logo-top" />
      <rect x="10" y="11" width="4" height="3" rx="0.5" className="fill-logo-mark" />
    </svg>
  );
}
