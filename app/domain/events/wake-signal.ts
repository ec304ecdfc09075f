type WakeState = { wake: (() => void) | null; timer: NodeJS.Timeout | null };

/**
 * A job's wake-up after the dispatcher's transaction: the job installs how to wake it while it
 * runs, and the sink asks for a wake once per burst (200 ms later, when the commit has usually
 * happened). Kept on globalThis under `key`, so every copy of the module in a process shares it.
 */
export function wakeSignal(key: string) {
  const symbol = Symbol.for(key);
  const state = (): WakeState => {
    const holder = globalThis as typeof globalThis & { [symbol]?: WakeState };
    holder[symbol] ??= { wake: null, timer: null };
    return holder[symbol];
  };
  return {
    /** Installed by the jobs while they run (null to remove). */
    set(wake: (() => void) | null): void {
      const current = state();
      current.wake = wake;
      if (!wake && current.timer) {
        clearTimeout(current.timer);
        current.timer = null;
      }
    },
    soon(): void {
      const current = state();
      if (!current.wake || current.timer) return;
      current.timer = setTimeout(() => {
        current.timer = null;
        current.wake?.();
      }, 200);
      current.timer.unref();
    },
  };
}
