import CircuitBreaker from "opossum";

/** The external services Coffer's requests depend on. */
export type Dependency = "database" | "storage" | "cache" | "search";

const BRAND = Symbol.for("coffer.DependencyUnavailableError");

const MESSAGES: Record<Dependency, string> = {
  database: "Coffer cannot reach its database right now. Nothing was lost; please try again in a moment.",
  storage: "Coffer cannot reach its file storage right now. Nothing was lost; please try again in a moment.",
  cache: "Coffer cannot reach its cache right now. Nothing was lost; please try again in a moment.",
  search: "Search is unavailable right now. Your files are safe; please try again in a moment.",
};

/**
 * A dependency is down or did not answer in time. The HTTP host answers it with 503 and
 * Retry-After (a human page, or problem+json for tus and the API), never a 500.
 */
export class DependencyUnavailableError extends Error {
  readonly [BRAND] = true;
  readonly status = 503;

  constructor(
    readonly dependency: Dependency,
    readonly retryAfterSeconds = 5,
    options?: ErrorOptions,
  ) {
    super(MESSAGES[dependency], options);
    this.name = "DependencyUnavailableError";
  }
}

/** True for a DependencyUnavailableError from any copy of this module (tests load sources beside the build). */
export function isDependencyUnavailable(error: unknown): error is DependencyUnavailableError {
  return error instanceof Error && (error as Partial<Record<typeof BRAND, boolean>>)[BRAND] === true;
}

export interface BreakerOptions {
  /** True for an error that means the dependency is down (refused connection, timeout), not a bad request. */
  isOutage: (error: unknown) => boolean;
  /** A call that takes longer counts as an outage; false for calls that legitimately run long (streams). */
  timeoutMs?: number | false;
  /** How long the circuit stays open before one trial call may pass. */
  resetMs?: number;
  /** State changes, for the log. */
  onStateChange?: (state: "open" | "half-open" | "closed") => void;
}

/** closed: calls pass; open: they fail at once; half-open: one trial call decides. */
export type CircuitState = "closed" | "open" | "half-open";

export interface Breaker {
  readonly dependency: Dependency;
  /**
   * Runs the call unless the circuit is open. A call that fails because the dependency is down
   * (or times out, or is refused at once while the circuit is open) rejects with
   * DependencyUnavailableError; any other error is rethrown as it was.
   */
  run<T>(call: () => Promise<T>): Promise<T>;
  /** True while calls fail fast without reaching the dependency. */
  readonly isOpen: boolean;
  readonly state: CircuitState;
  shutdown(): void;
}

/**
 * A circuit breaker (opossum) around one dependency: after a few outage errors in a row every
 * call fails at once for resetMs, so a dead service costs a fast 503 instead of a timeout on each
 * request; then one trial call decides whether it has come back.
 */
export function createBreaker(dependency: Dependency, options: BreakerOptions): Breaker {
  const resetMs = options.resetMs ?? 5_000;
  const circuit = new CircuitBreaker((call: () => Promise<unknown>) => call(), {
    timeout: options.timeoutMs ?? 2_000,
    resetTimeout: resetMs,
    // Opens on the third outage within the window, however few calls there were.
    volumeThreshold: 3,
    errorThresholdPercentage: 50,
    rollingCountTimeout: 10_000,
    // An error that is not an outage (a missing key, a bad request) does not count against it.
    errorFilter: (error: unknown) => !options.isOutage(error),
  });
  circuit.on("open", () => options.onStateChange?.("open"));
  circuit.on("halfOpen", () => options.onStateChange?.("half-open"));
  circuit.on("close", () => options.onStateChange?.("closed"));
  const retryAfter = Math.max(1, Math.ceil(resetMs / 1000));

  return {
    dependency,
    get isOpen() {
      return circuit.opened;
    },
    get state(): CircuitState {
      return circuit.halfOpen ? "half-open" : circuit.opened ? "open" : "closed";
    },
    async run<T>(call: () => Promise<T>): Promise<T> {
      try {
        return (await circuit.fire(call)) as T;
      } catch (error) {
        const code = (error as { code?: unknown } | null)?.code;
        if (code === "EOPENBREAKER" || code === "ETIMEDOUT" || options.isOutage(error)) {
          throw new DependencyUnavailableError(dependency, retryAfter, { cause: error });
        }
        throw error;
      }
    },
    shutdown() {
      circuit.shutdown();
    },
  };
}
