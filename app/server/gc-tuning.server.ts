import v8 from "node:v8";

/**
 * How far V8 lets the old generation grow past what survived the last full collection before it
 * starts the next one: 100 % (twice the live heap) instead of V8's own choice, which on Coffer
 * settles near 35 %.
 *
 * An upload allocates a buffer for every socket read (1 GiB of them per GiB uploaded). With V8's
 * choice, Coffer's ~75 MB of live heap left so little room that a full collection started again
 * as soon as the previous one ended: uploading 1 GiB to S3 cost about 80 of them, half the
 * server's CPU time. With 100 % it takes a handful, and the upload goes 20–30 % faster. The cost
 * is that the heap may hold up to one live heap's worth of garbage more before it is collected.
 */
export const HEAP_GROWING_PERCENT = 100;

/** Applies HEAP_GROWING_PERCENT unless the process was started with its own setting. */
export function tuneGarbageCollector(execArgv: readonly string[] = process.execArgv): void {
  if (execArgv.some((arg) => arg.startsWith("--heap-growing-percent") || arg.startsWith("--heap_growing_percent"))) return;
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
