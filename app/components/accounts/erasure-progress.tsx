import { useEffect } from "react";
import { useRevalidator } from "@remix-run/react";

const REFRESH_SECONDS = 3;
const count = (n: number) => n.toLocaleString("en-GB");

/**
 * How far the erasure of an account is, refreshing itself: without JavaScript the page reloads
 * every few seconds (and offers a link), with it the page data is revalidated.
 */
export function ErasureProgress({ done, total, refreshHref }: { done: number; total: number; refreshHref: string }) {
  const revalidator = useRevalidator();
  useEffect(() => {
    const timer = setInterval(() => {
      if (revalidator.state === "idle") revalidator.revalidate();
    }, REFRESH_SECONDS * 1000);
    return () => clearInterval(timer);
  }, [revalidator]);
  const shown = Math.min(done, total);
  return (
    <section aria-label="Erasure under way" className="rounded-md border border-border bg-surface px-3 py-2 text-sm text-text">
      <noscript>
        <meta httpEquiv="refresh" content={String(REFRESH_SECONDS)} />
      </noscript>
      <p role="status">
        {`Erased ${count(shown)} of ${count(total)} files and folders`}
        <progress className="ml-2 align-middle" max={total} value={shown} aria-label="Erasure progress" />
      </p>
      <p className="mt-1 text-text-muted">
        This goes on in the background, also if you leave this page.{" "}
        <a href={refreshHref} className="underline">
          Refresh
        </a>
      </p>
    </section>
  );
}
