import { useRevalidator } from "@remix-run/react";
import { useCallback, useEffect, useRef } from "react";

/**
 * A revalidation of the page's data that many events can ask for at once: the first runs at
 * once, and the rest are folded into one more after it, at least `minIntervalMs` after it began
 * (a thousand finished uploads reload the folder a few times, not a thousand, and never keep the
 * server busy with back-to-back reloads). A request made while a reload is loading is kept for
 * after it, since what it loads may predate the change.
 */
export function useThrottledRevalidate(minIntervalMs = 1000): () => void {
  const revalidator = useRevalidator();
  const latest = useRef(revalidator);
  latest.current = revalidator;
  const state = useRef({
    last: 0,
    wanted: false,
    timer: undefined as ReturnType<typeof setTimeout> | undefined,
  });

  const request = useCallback(() => {
    const current = state.current;
    current.wanted = true;
    if (current.timer !== undefined || latest.current.state !== "idle") return;
    const run = () => {
      current.timer = undefined;
      // Still loading: the effect below asks again when it is done.
      if (latest.current.state !== "idle") return;
      current.wanted = false;
      current.last = Date.now();
      latest.current.revalidate();
    };
    const wait = current.last + minIntervalMs - Date.now();
    if (wait <= 0) run();
    else current.timer = setTimeout(run, wait);
  }, [minIntervalMs]);

  useEffect(() => {
    if (revalidator.state === "idle" && state.current.wanted) request();
  }, [revalidator.state, request]);
  useEffect(() => () => clearTimeout(state.current.timer), []);
  return request;
}
