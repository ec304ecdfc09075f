import { useEffect, useRef, useState } from "react";
import type { LiveEvent } from "~/lib/live-event";
import { useThrottledRevalidate } from "./throttled-revalidate";

interface Notice {
  id: number;
  text: string;
}

/**
 * Listens for the signed-in user's live events (Socket.IO, authenticated by the session
 * cookie): shows a notice and refreshes the listing when it is affected.
 */
export function LiveUpdates() {
  const [notices, setNotices] = useState<Notice[]>([]);
  // An event that arrives while a refresh is already loading may not be in what it loads (a
  // thumbnail made a moment after it started): the refresh runs once more when it is done.
  const revalidate = useThrottledRevalidate();
  const latest = useRef(revalidate);
  latest.current = revalidate;

  useEffect(() => {
    let socket: import("socket.io-client").Socket | null = null;
    let cancelled = false;
    let nextId = 1;
    void import("socket.io-client").then(({ io }) => {
      if (cancelled) return;
      socket = io({ path: "/socket.io", withCredentials: true });
      socket.on("event", (event: LiveEvent) => {
        if (event.type === "file:created") {
          const id = nextId++;
          setNotices((current) => [...current.slice(-3), { id, text: `“${event.file.name}” was uploaded.` }]);
          setTimeout(() => setNotices((current) => current.filter((n) => n.id !== id)), 8000);
        }
        // The listing on screen refreshes itself; other folders load fresh when opened.
        latest.current();
      });
    });
    return () => {
      cancelled = true;
      socket?.disconnect();
    };
  }, []);

  return (
    <div aria-live="polite" role="status" className="pointer-events-none fixed right-4 bottom-4 z-50 flex flex-col gap-2">
      {notices.map((notice) => (
        <div
          key={notice.id}
          className="pointer-events-auto rounded-md bg-text px-4 py-3 text-sm text-surface-raised shadow-lg"
          data-testid="live-notice"
        >
          {notice.text}
        </div>
      ))}
    </div>
  );
}
