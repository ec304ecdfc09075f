import { vi } from "vitest";

/**
 * Records what is printed to stderr (directly, or through console.warn/error/log/info) until
 * `stop()`; the output still appears.
 */
export function captureStderr(): { stop(): string } {
  const spies = [
    vi.spyOn(process.stderr, "write"),
    vi.spyOn(console, "warn"),
    vi.spyOn(console, "error"),
    vi.spyOn(console, "log"),
    vi.spyOn(console, "info"),
  ];
  return {
    stop() {
      const text = spies
        .flatMap((spy) => spy.mock.calls.flat().map((item) => (item instanceof Uint8Array ? Buffer.from(item).toString() : String(item))))
        .join("\n");
      for (const spy of spies) spy.mockRestore();
      return text;
    },
  };
}
