import { z } from "zod";

/** The themes a person can choose; "system" follows the device (prefers-color-scheme). */
export const THEMES = ["system", "light", "dark"] as const;
export type Theme = (typeof THEMES)[number];
export const themeSchema = z.enum(THEMES);

export const THEME_LABELS: Record<Theme, string> = { system: "System", light: "Light", dark: "Dark" };

/**
 * The value of <html data-theme>: an explicit choice, or none for "system", where the CSS
 * follows prefers-color-scheme (app/tailwind.css).
 */
export function themeAttribute(theme: Theme): "light" | "dark" | undefined {
  return theme === "system" ? undefined : theme;
}
