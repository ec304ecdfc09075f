import { Form } from "@remix-run/react";
import { CsrfInput } from "~/components/csrf-input";
import { Button } from "~/components/ui/button";
import { Dialog } from "~/components/ui/dialog";
import { Input, Label, Select } from "~/components/ui/input";

/**
 * A refused action: its message and what was typed, so the dialog shows both and nothing is lost.
 * `nameTaken` says the refusal was a name conflict: only then is the choice (keep both, replace,
 * skip) offered.
 */
export type RefusedForm = {
  message: string;
  nameTaken?: boolean;
  values: { name: string; destination: string; policy: string };
} | null;

type Item = { kind: "file" | "folder"; name: string; parentId: string | null };
type Destinations = { folders: Array<{ id: string; label: string; depth: number }>; truncated: boolean };

/** Whether to offer the name-conflict choice: after a conflict, or while a choice is being resent. */
function offersChoice(refused: RefusedForm): boolean {
  return Boolean(refused && (refused.nameTaken || (refused.values.policy && refused.values.policy !== "cancel")));
}

export function RenameDialog({ item, refused, busy }: { item: Item; refused: RefusedForm; busy: boolean }) {
  return (
    <Dialog id="rename" title={`Rename “${item.name}”`} open={Boolean(refused)}>
      <Form method="post" className="space-y-3" data-testid="rename-form">
        <CsrfInput />
        <input type="hidden" name="intent" value="rename" />
        <div>
          <Label htmlFor="rename-name">New name</Label>
          <Input
            key={refused?.values.name ?? item.name}
            id="rename-name"
            name="name"
            required
            maxLength={255}
            defaultValue={refused?.values.name ?? item.name}
            className="w-full"
            aria-invalid={refused ? true : undefined}
            aria-describedby={refused ? "rename-error" : undefined}
          />
        </div>
        <ErrorText id="rename-error" refused={refused} />
        {offersChoice(refused) ? (
          <PolicyChoice idPrefix="rename" allowReplace={item.kind === "file"} chosen={refused?.values.policy} />
        ) : null}
        <Button type="submit" variant="primary" disabled={busy}>
          {busy ? "Renaming…" : "Rename"}
        </Button>
      </Form>
    </Dialog>
  );
}

export function MoveOrCopyDialog({
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
  const verb = intent === "move" ? "Move" : "Copy";
  return (
    <Dialog id={intent} title={`${verb} “${item.name}”`} open={Boolean(refused)}>
      <Form method="post" className="space-y-3" data-testid={`${intent}-form`}>
        <CsrfInput />
        <input type="hidden" name="intent" value={intent} />
        <div>
          <Label htmlFor={`${intent}-destination`}>{intent === "move" ? "Move to folder" : "Copy into folder"}</Label>
          <Select
            key={refused?.values.destination ?? ""}
            id={`${intent}-destination`}
            name="destination"
            required
            className="w-full"
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
          </Select>
          {destinations.truncated ? (
            <p id={`${intent}-note`} className="mt-1 text-sm text-text-muted">
              Only the first {pickerLimit} folders are listed. To reach another, move the item in steps.
            </p>
          ) : null}
        </div>
        <ErrorText id={`${intent}-error`} refused={refused} />
        {offersChoice(refused) ? (
          <PolicyChoice idPrefix={intent} allowReplace={item.kind === "file"} chosen={refused?.values.policy} />
        ) : null}
        <Button type="submit" variant="primary" disabled={busy}>
          {busy ? (intent === "move" ? "Moving…" : "Copying…") : verb}
        </Button>
      </Form>
    </Dialog>
  );
}

export function TrashDialog({
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
    <Dialog id="trash" title="Move to trash?" open={Boolean(refused)}>
      <p className="text-sm">
        {item.kind === "folder" ? "This folder and everything in it go to the trash. " : "The file goes to the trash. "}
        You can restore it from the trash for {trashRetentionDays} days; after that it is deleted for good.
      </p>
      <Form method="post" className="mt-3 space-y-3">
        <CsrfInput />
        <input type="hidden" name="intent" value="trash" />
        <ErrorText id="trash-error" refused={refused} />
        <Button type="submit" variant="danger" disabled={busy}>
          {busy ? "Moving to trash…" : `Move “${item.name}” to trash`}
        </Button>
      </Form>
    </Dialog>
  );
}

/** The choice after a name conflict: keep both (numbered), replace (files only) or skip. */
function PolicyChoice({ idPrefix, allowReplace, chosen }: { idPrefix: string; allowReplace: boolean; chosen?: string }) {
  const options = [
    { value: "keep-both", label: "Keep both (number the new name)" },
    ...(allowReplace ? [{ value: "replace", label: "Replace the existing file (its content is kept as a version)" }] : []),
    { value: "skip", label: "Skip (change nothing)" },
  ];
  const selected = options.some((option) => option.value === chosen) ? chosen : "keep-both";
  return (
    <fieldset key={selected} data-testid={`${idPrefix}-conflict-choice`}>
      <legend className="label">The name is already taken. What should happen?</legend>
      <div className="flex flex-col gap-1 text-sm">
        {options.map((option) => (
          <label key={option.value} className="flex min-h-6 items-center gap-2">
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
 * The dialogs of someone who may change the item: rename, move, copy and move to the trash.
 * `refusedFor` gives a form's refused submission; `busy` names the intent being sent.
 */
export function ItemDialogs({
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
      <RenameDialog item={item} refused={refusedFor("rename")} busy={busy === "rename"} />
      {(["move", "copy"] as const).map((intent) => (
        <MoveOrCopyDialog
          key={intent}
          intent={intent}
          item={item}
          destinations={destinations}
          pickerLimit={pickerLimit}
          refused={refusedFor(intent)}
          busy={busy === intent}
        />
      ))}
      <TrashDialog item={item} trashRetentionDays={trashRetentionDays} refused={refusedFor("trash")} busy={busy === "trash"} />
    </>
  );
}
