import { useNavigate } from "@remix-run/react";
import { useEffect } from "react";
import { Dialog, DialogOpener } from "./ui/dialog";

/** The folder page's keyboard shortcuts, as the `?` overlay lists them. */
export const SHORTCUTS: ReadonlyArray<{ keys: string[]; what: string }> = [
  { keys: ["u"], what: "Upload files" },
  { keys: ["n"], what: "New folder (moves the focus to its name)" },
  { keys: ["/"], what: "Search in this folder" },
  { keys: ["a"], what: "Select all items of the listing" },
  { keys: ["Ctrl", "A"], what: "Select all (while the focus is in the listing)" },
  { keys: ["Delete"], what: "Move the selected items to the trash (asks first)" },
  { keys: ["F2"], what: "Rename the focused item" },
  { keys: ["Enter"], what: "Open the focused item (its checkbox focused)" },
  { keys: ["?"], what: "Show these shortcuts" },
  { keys: ["Esc"], what: "Close this list, a menu or a dialog" },
];

const DIALOG_ID = "shortcuts";

/** Keys typed into a text field, a select or an editable element are the user's text, not shortcuts. */
function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  return target instanceof HTMLInputElement && !["checkbox", "radio", "button", "submit", "reset", "file"].includes(target.type);
}

const selectionBoxes = () => Array.from(document.querySelectorAll<HTMLInputElement>('input[data-bulk-item][form="bulk-form"]'));

function selectAll() {
  for (const box of selectionBoxes()) box.checked = true;
  document.dispatchEvent(new Event("coffer:selection"));
}

function openOverlay() {
  const dialog = document.getElementById(DIALOG_ID);
  if (dialog instanceof HTMLDialogElement && !dialog.open) dialog.showModal();
}

/**
 * The folder page's shortcuts (one keydown listener) and the `?` overlay listing them. The
 * overlay is a kit Dialog: without JavaScript it is the `:target` of the toolbar's
 * "Keyboard shortcuts" link, so the list is readable there too.
 */
export function FolderShortcuts() {
  const navigate = useNavigate();
  useEffect(() => {
    const onKeyDown = (event: KeyboardEvent) => {
      if (event.defaultPrevented || event.altKey || event.metaKey || isTyping(event.target)) return;
      // A dialog or the picker owns the keyboard while it is open.
      if (document.querySelector("dialog[open]")) return;
      const active = document.activeElement instanceof HTMLElement ? document.activeElement : null;
      const row = active?.closest<HTMLElement>("[data-row]") ?? null;
      const key = event.key;
      if (event.ctrlKey) {
        // Ctrl+A selects the listing's items only while the focus is in the listing; elsewhere it selects text.
        if (key.toLowerCase() === "a" && active && document.getElementById("bulk-form")?.contains(active)) {
          event.preventDefault();
          selectAll();
        }
        return;
      }
      let handled = true;
      if (key === "?") openOverlay();
      else if (key === "u") {
        const input = document.querySelector<HTMLElement>('[data-shortcut="upload"]');
        if (input) {
          input.focus();
          input.click();
        } else handled = false;
      } else if (key === "n") {
        const input = document.getElementById("new-folder-name");
        if (input) input.focus();
        else handled = false;
      } else if (key === "/") {
        const input = document.getElementById("folder-search") ?? document.getElementById("site-search");
        if (input) input.focus();
        else handled = false;
      } else if (key === "a") {
        if (selectionBoxes().length > 0) selectAll();
        else handled = false;
      } else if (key === "Delete") {
        const trash = document.querySelector<HTMLButtonElement>('[data-shortcut="trash-selection"]');
        if (trash && !trash.disabled && selectionBoxes().some((box) => box.checked)) trash.click();
        else handled = false;
      } else if (key === "F2" && row?.dataset.renameHref) navigate(row.dataset.renameHref);
      else if (key === "Enter" && row?.dataset.openHref && active instanceof HTMLInputElement && active.type === "checkbox")
        navigate(row.dataset.openHref);
      else handled = false;
      if (handled) event.preventDefault();
    };
    document.addEventListener("keydown", onKeyDown);
    return () => document.removeEventListener("keydown", onKeyDown);
  }, [navigate]);

  return (
    <Dialog id={DIALOG_ID} title="Keyboard shortcuts">
      {/* A description list, not a table: the folder page's listing is its only table. */}
      <dl className="divide-y divide-border text-sm" data-testid="shortcuts-list">
        {SHORTCUTS.map((shortcut) => (
          <div key={shortcut.keys.join("+")} className="flex gap-4 py-1.5">
            <dt className="w-28 shrink-0 whitespace-nowrap">
              {shortcut.keys.map((k, index) => (
                <span key={k}>
                  {index > 0 ? " + " : null}
                  <kbd className="rounded-control border border-border-strong bg-surface px-1.5 py-0.5 font-mono text-xs">{k}</kbd>
                </span>
              ))}
            </dt>
            <dd>{shortcut.what}</dd>
          </div>
        ))}
      </dl>
      <p className="mt-3 text-xs text-text-muted">Shortcuts do nothing while you type in a field.</p>
    </Dialog>
  );
}

/** The toolbar's link to the shortcuts overlay (works without JavaScript as a `:target`). */
export function ShortcutsHelp() {
  return (
    <DialogOpener dialogId={DIALOG_ID} variant="ghost" size="sm">
      Keyboard shortcuts<span className="sr-only"> (?)</span>
    </DialogOpener>
  );
}
