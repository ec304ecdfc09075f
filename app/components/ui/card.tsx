import type { HTMLAttributes, ReactNode } from "react";
import { cx } from "./cx";

interface CardProps extends Omit<HTMLAttributes<HTMLElement>, "title"> {
  /** A heading for the card; it names the section for screen readers. */
  title?: ReactNode;
  /** The heading's level in the page's outline. */
  level?: 2 | 3;
  /** Padding inside; "none" for a card that holds a table or a list edge to edge. */
  padding?: "none" | "md";
  /** The element of a card without a title: a list item, or a section its caller names. */
  as?: "div" | "section" | "li" | "ul" | "article" | "figure";
}

/** The classes of a card; for the rare element that must look like one but is another component (a Form). */
export function cardClass(className?: string): string {
  return cx("card", className);
}

/** A raised panel: a <section> when it has a title, a <div> (or the element `as` names) otherwise. */
export function Card({ title, level = 2, padding = "md", as: Element = "div", className, children, ...props }: CardProps) {
  const Heading = level === 2 ? "h2" : "h3";
  const classes = cx(cardClass(), padding === "md" && "p-4", className);
  if (!title) {
    return (
      <Element className={classes} {...props}>
        {children}
      </Element>
    );
  }
  return (
    <section className={classes} {...props}>
      <Heading className={cx("text-lg font-semibold", padding === "none" && "px-4 pt-4", "mb-3")}>{title}</Heading>
      {children}
    </section>
  );
}
