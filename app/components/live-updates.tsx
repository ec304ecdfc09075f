import { useParams, useRevalidator } from "@remix-run/react";
import { useEffect, useRef, useState } from "react";
import type { LiveEvent } from "~/lib/live-event";

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
  const revalidator = useRevalidator();
  const params = useParams();
  const latest = useRef({ revalidator, folderId: params.folderId });
  latest.current = { revalidator, folderId: params.folderId };
  // An event that arrives while a refresh is already loading may not be in what it loads (a
  // thumbnail made a moment after it started): refresh once more when it is done.
  const refreshAgain = useRef(false);
  useEffect(() => {
    if (revalidator.state !== "idle" || !refreshAgain.current) return;
    refreshAgain.current = false;
    revalidator.revalidate();
  }, [revalidator]);

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
        if (latest.current.revalidator.state === "idle") latest.current.revalidator.revalidate();
        else refreshAgain.current = true;
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
          className="pointer-events-auto rounded-md bg-slate-900 px-4 py-3 text-sm text-white shadow-lg"
          data-testid="live-notice"
        >
          {notice.text}
        </div>
      ))}
    </div>
  );
}
