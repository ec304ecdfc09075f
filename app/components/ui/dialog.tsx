import { type MouseEvent, type ReactNode, useEffect, useRef } from "react";
import { type ButtonSize, type ButtonVariant, buttonClass } from "./button";

/**
 * A dialog that works without JavaScript: its opener is a link to `#id`, and the CSS shows the
 * <dialog> while it is the :target (tailwind.css, `dialog:target`); "Close" links back to the opener (`#<id>-opener`).
 * With JavaScript the opener calls showModal(): the browser traps the focus in the dialog, makes
 * the page behind it inert, closes it on Escape and gives the focus back to the opener. A page
 * opened at `#id` (a link from another page) shows the dialog as a modal too.
 * `open` renders it open from the server: a form in it was refused, and its message is in it.
 * For a dialog that must work from another page (or holds a long form), prefer a route.
 */
export function Dialog({ id, title, open, children }: { id: string; title: string; open?: boolean; children: ReactNode }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog || typeof dialog.showModal !== "function") return;
    // From now on dialogs open as modals, not as the :target (tailwind.css).
    document.documentElement.dataset.dialogs = "modal";
    const fromHash = window.location.hash === `#${id}`;
    if ((fromHash || dialog.open) && !dialog.matches(":modal")) {
      if (dialog.open) dialog.close();
      dialog.showModal();
    }
  }, [id]);
  const close = (event: MouseEvent<HTMLAnchorElement>) => {
    const dialog = event.currentTarget.closest("dialog");
    if (dialog?.open) {
      event.preventDefault();
      dialog.close();
    }
  };
  return (
    <dialog ref={ref} id={id} aria-labelledby={`${id}-title`} className="dialog" open={open || undefined}>
      <div className="flex items-start justify-between gap-4">
        <h2 id={`${id}-title`} className="text-lg font-semibold">
          {title}
        </h2>
        <a href={`#${id}-opener`} onClick={close} className={buttonClass("ghost", "sm")}>
          Close
        </a>
      </div>
      <div className="mt-3">{children}</div>
    </dialog>
  );
}

/** Closes every open dialog of the page: after a dialog's form succeeded and the page moved on. */
export function closeOpenDialogs() {
  for (const dialog of document.querySelectorAll("dialog[open]")) {
    if (dialog instanceof HTMLDialogElement) dialog.close();
  }
}

/** The link that opens the dialog `dialogId`. */
export function DialogOpener({
  dialogId,
  variant = "secondary",
  size,
  children,
}: {
  dialogId: string;
  variant?: ButtonVariant;
  size?: ButtonSize;
  children: ReactNode;
}) {
  const open = (event: MouseEvent<HTMLAnchorElement>) => {
    const dialog = document.getElementById(dialogId);
    if (dialog instanceof HTMLDialogElement && typeof dialog.showModal === "function") {
      event.preventDefault();
      if (!dialog.open) dialog.showModal();
    }
  };
  return (
    <a id={`${dialogId}-opener`} href={`#${dialogId}`} onClick={open} className={buttonClass(variant, size)} aria-haspopup="dialog">
      {children}
    </a>
  );
}
