import { Link, type LinkProps } from "@remix-run/react";
import { type ButtonHTMLAttributes, forwardRef } from "react";
import { cx } from "./cx";

export type ButtonVariant = "primary" | "secondary" | "danger" | "danger-quiet" | "ghost";
export type ButtonSize = "sm" | "md";

const VARIANTS: Record<ButtonVariant, string> = {
  primary: "btn-primary",
  secondary: "btn-secondary",
  danger: "btn-danger",
  "danger-quiet": "btn-danger-quiet",
  ghost: "btn-ghost",
};
const SIZES: Record<ButtonSize, string> = { sm: "btn-sm", md: "" };

/** The classes of a button; for the rare control that must look like one but is neither (a <summary>). */
export function buttonClass(variant: ButtonVariant = "secondary", size: ButtonSize = "md", className?: string): string {
  return cx(VARIANTS[variant], SIZES[size], className);
}

interface Look {
  variant?: ButtonVariant;
  size?: ButtonSize;
}

/** A <button>; type="button" unless said otherwise, so it never submits a form by accident. */
export const Button = forwardRef<HTMLButtonElement, Look & ButtonHTMLAttributes<HTMLButtonElement>>(function Button(
  { variant, size, className, type = "button", ...props },
  ref,
) {
  return <button ref={ref} type={type} className={buttonClass(variant, size, className)} {...props} />;
});

/** A link that looks like a button: for actions that are pages (they work without JavaScript). */
export function ButtonLink({ variant, size, className, ...props }: Look & LinkProps) {
  return <Link className={buttonClass(variant, size, className)} {...props} />;
}
