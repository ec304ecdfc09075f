import type { LiveEvent } from "~/lib/live-event";

export interface Notifier {
  toUser(userId: string, event: LiveEvent): void;
  /** Closes the live connections opened with these sessions (they were revoked). */
  endSessions(sessionIds: string[]): void;
}

/** Until Socket.IO is attached (and in tests without it) events go nowhere. */
export class DeferredNotifier implements Notifier {
  private target: Notifier | null = null;
  private readonly endedListeners = new Set<(sessionIds: string[]) => void>();
  attach(target: Notifier) {
    this.target = target;
  }
  toUser(userId: string, event: LiveEvent) {
    this.target?.toUser(userId, event);
  }
  endSessions(sessionIds: string[]) {
    if (sessionIds.length === 0) return;
    // This process first (its session cache), whether or not Socket.IO is attached.
    for (const listener of this.endedListeners) listener(sessionIds);
    this.target?.endSessions(sessionIds);
  }
  /** Calls `listener` in this process whenever sessions end here (see endSessions). */
  onSessionsEnded(listener: (sessionIds: string[]) => void): () => void {
    this.endedListeners.add(listener);
    return () => this.endedListeners.delete(listener);
  }
}
