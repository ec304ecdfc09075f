import { Form } from "@remix-run/react";
import { CsrfInput } from "~/components/csrf-input";

/** A refused action: its message and what was typed, so the form shows both and nothing is lost. */
export type RefusedForm = { message: string; values: { name: string; destination: string; policy: string } } | null;

type Item = { kind: "file" | "folder"; name: string; parentId: string | null };
type Destinations = { folders: Array<{ id: string; label: string; depth: number }>; truncated: boolean };

export function RenameSection({ item, refused, busy }: { item: Item; refused: RefusedForm; busy: boolean }) {
  return (
    <section aria-labelledby="rename-heading" className="card p-4">
      <h2 id="rename-heading" className="text-lg font-semibold">
        Rename
      </h2>
      <Form method="post" className="mt-3 space-y-3">
        <CsrfInput />
        <input type="hidden" name="intent" value="rename" />
        <div>
          <label htmlFor="rename-name" className="label">
            New name
          </label>
          <input
            key={refused?.values.name ?? item.name}
            id="rename-name"
            name="name"
            required
            maxLength={255}
            defaultValue={refused?.values.name ?? item.name}
            className="input max-w-md"
            aria-invalid={refused ? true : undefined}
            aria-describedby={refused ? "rename-error" : undefined}
          />
        </div>
        <PolicyChoice idPrefix="rename" allowReplace={item.kind === "file"} chosen={refused?.values.policy} />
        <ErrorText id="rename-error" refused={refused} />
        <button type="submit" className="btn-primary" disabled={busy}>
          {busy ? "Renaming…" : "Rename"}
        </button>
      </Form>
    </section>
  );
}

export function MoveOrCopySection({
  intent,
  item,
  destinations,
  pickerLimit,
  refused,
  busy,
}: {
  intent: "move" | "copy";
  item: Item;
  destinations: Destinations;
  pickerLimit: number;
  refused: RefusedForm;
  busy: boolean;
}) {
  return (
    <section aria-labelledby={`${intent}-heading`} className="card p-4">
      <h2 id={`${intent}-heading`} className="text-lg font-semibold">
        {intent === "move" ? "Move" : "Copy"}
      </h2>
      <Form method="post" className="mt-3 space-y-3">
        <CsrfInput />
        <input type="hidden" name="intent" value={intent} />
        <div>
          <label htmlFor={`${intent}-destination`} className="label">
            {intent === "move" ? "Move to folder" : "Copy into folder"}
          </label>
          <select
            key={refused?.values.destination ?? ""}
            id={`${intent}-destination`}
            name="destination"
            required
            className="input max-w-md"
            defaultValue={refused?.values.destination ?? ""}
            aria-invalid={refused ? true : undefined}
            aria-describedby={
              [refused ? `${intent}-error` : null, destinations.truncated ? `${intent}-note` : null].filter(Boolean).join(" ") || undefined
            }
          >
            <option value="" disabled>
              Choose a folder…
            </option>
            {destinations.folders.map((folder) => (
              <option key={folder.id} value={folder.id} disabled={intent === "move" && folder.id === item.parentId}>
                {"\u00a0\u00a0".repeat(folder.depth)}
                {folder.label}
                {folder.id === item.parentId ? " (current folder)" : ""}
              </option>
            ))}
          </select>
          {destinations.truncated ? (
            <p id={`${intent}-note`} className="mt-1 text-sm text-slate-600">
              Only the first {pickerLimit} folders are listed. To reach another, move the item in steps.
            </p>
          ) : null}
        </div>
        <PolicyChoice idPrefix={intent} allowReplace={item.kind === "file"} chosen={refused?.values.policy} />
        <ErrorText id={`${intent}-error`} refused={refused} />
        <button type="submit" className="btn-primary" disabled={busy}>
          {busy ? (intent === "move" ? "Moving…" : "Copying…") : intent === "move" ? "Move" : "Copy"}
        </button>
      </Form>
    </section>
  );
}

export function TrashSection({
  item,
  trashRetentionDays,
  refused,
  busy,
}: {
  item: Item;
  trashRetentionDays: number;
  refused: RefusedForm;
  busy: boolean;
}) {
  return (
    <section aria-labelledby="trash-heading" className="card border-red-200 p-4">
      <h2 id="trash-heading" className="text-lg font-semibold">
        Move to trash
      </h2>
      <p className="mt-2 text-sm text-slate-700">
        {item.kind === "folder" ? "This folder and everything in it go to the trash. " : "The file goes to the trash. "}
        You can restore it from the trash for {trashRetentionDays} days; after that it is deleted for good.
      </p>
      <Form method="post" className="mt-3">
        <CsrfInput />
        <input type="hidden" name="intent" value="trash" />
        <ErrorText id="trash-error" refused={refused} />
        <button type="submit" className="btn-secondary border-red-300 text-red-800 hover:bg-red-50" disabled={busy}>
          {busy ? "Moving to trash…" : `Move “${item.name}” to trash`}
        </button>
      </Form>
    </section>
  );
}

function PolicyChoice({ idPrefix, allowReplace, chosen }: { idPrefix: string; allowReplace: boolean; chosen?: string }) {
  const options = [
    { value: "cancel", label: "Cancel and tell me" },
    { value: "keep-both", label: "Keep both (number the new name)" },
    ...(allowReplace ? [{ value: "replace", label: "Replace the existing file (its content is kept as a version)" }] : []),
  ];
  const selected = options.some((option) => option.value === chosen) ? chosen : "cancel";
  return (
    <fieldset key={selected}>
      <legend className="label">If the name is already taken</legend>
      <div className="flex flex-col gap-1 text-sm">
        {options.map((option) => (
          <label key={option.value} className="flex items-center gap-2">
            <input
              type="radio"
              name="policy"
              value={option.value}
              defaultChecked={option.value === selected}
              id={`${idPrefix}-policy-${option.value}`}
            />
            {option.label}
          </label>
        ))}
      </div>
    </fieldset>
  );
}

function ErrorText({ id, refused }: { id: string; refused: RefusedForm }) {
  if (!refused) return null;
  return (
    <p id={id} role="alert" className="field-error">
      {refused.message}
    </p>
  );
}

/**
 * The forms of someone who may change the item: rename, move, copy and move to the trash.
 * `refusedFor` gives a form's refused submission; `busy` names the intent being sent.
 */
export function ItemEditSections({
  item,
  destinations,
  pickerLimit,
  trashRetentionDays,
  refusedFor,
  busy,
}: {
  item: Item;
  destinations: Destinations;
  pickerLimit: number;
  trashRetentionDays: number;
  refusedFor: (intent: string) => RefusedForm;
  busy: string | null;
}) {
  return (
    <>
      <RenameSection item={item} refused={refusedFor("rename")} busy={busy === "rename"} />
      {(["move", "copy"] as const).map((intent) => (
        <MoveOrCopySection
          key={intent}
          intent={intent}
          item={item}
          destinations={destinations}
          pickerLimit={pickerLimit}
          refused={refusedFor(intent)}
          busy={busy === intent}
        />
      ))}
      <TrashSection item={item} trashRetentionDays={trashRetentionDays} refused={refusedFor("trash")} busy={busy === "trash"} />
    </>
  );
}
