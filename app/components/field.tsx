import { toneClass } from "./ui/badge";
import { cx } from "./ui/cx";
import { Input, Label } from "./ui/input";
import type { InputHTMLAttributes } from "react";

interface FieldProps extends InputHTMLAttributes<HTMLInputElement> {
  label: string;
  name: string;
  error?: string;
  hint?: string;
}

/** A labelled input whose error and hint are announced with it. */
export function Field({ label, name, error, hint, id, ...input }: FieldProps) {
  const inputId = id ?? `field-${name}`;
  const described = [error ? `${inputId}-error` : null, hint ? `${inputId}-hint` : null].filter(Boolean).join(" ") || undefined;
  return (
    <div>
      <Label htmlFor={inputId}>{label}</Label>
      <Input id={inputId} name={name} aria-invalid={error ? true : undefined} aria-describedby={described} {...input} />
      {hint ? (
        <p id={`${inputId}-hint`} className="mt-1 text-sm text-text-muted">
          {hint}
        </p>
      ) : null}
      {error ? (
        <p id={`${inputId}-error`} className="field-error">
          {error}
        </p>
      ) : null}
    </div>
  );
}

export function FormMessage({
  message,
  tone = "error",
  id,
}: {
  message?: string | null;
  tone?: "error" | "success";
  /** Lets a field name this message as its description (aria-describedby) instead of repeating it. */
  id?: string;
}) {
  if (!message) return null;
  return (
    <p
      id={id}
      role={tone === "error" ? "alert" : "status"}
      className={cx("rounded-md border px-3 py-2 text-sm", toneClass(tone === "error" ? "danger" : "success"))}
    >
      {message}
    </p>
  );
}
