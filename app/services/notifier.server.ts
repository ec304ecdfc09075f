import type { LiveEvent } from "~/lib/live-event";

export interface Notifier {
  toUser(userId: string, event: LiveEvent): void;
  /** Closes the live connections opened with these sessions (they were revoked). */
  endSessions(sessionIds: string[]): void;
}

/** Until Socket.IO is attached (and in tests without it) events go nowhere. */
export class DeferredNotifier implements Notifier {
  private target: Notifier | null = null;
  attach(target: Notifier) {
    this.target = target;
  }
  toUser(userId: string, event: LiveEvent) {
    this.target?.toUser(userId, event);
  }
  endSessions(sessionIds: string[]) {
    if (sessionIds.length > 0) this.target?.endSessions(sessionIds);
  }
}
