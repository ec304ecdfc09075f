import { vi } from "vitest";

export type LogLine = Record<string, unknown> & { level: string; message: string };

/**
 * Records what the app writes to stdout and stderr (its log lines: the test apps log through
 * process.stdout/stderr.write) until `stop()`, and keeps it out of the test output.
 */
export function captureLogLines(): { lines(): LogLine[]; text(): string; stop(): void } {
  const written: string[] = [];
  const record = (chunk: unknown, ...rest: unknown[]) => {
    written.push(typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8"));
    const callback = rest.find((item) => typeof item === "function") as (() => void) | undefined;
    callback?.();
    return true;
  };
  const spies = [
    vi.spyOn(process.stdout, "write").mockImplementation(record),
    vi.spyOn(process.stderr, "write").mockImplementation(record),
  ];
  const text = () => written.join("");
  return {
    text,
    lines: () =>
      text()
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as LogLine),
    stop() {
      for (const spy of spies) spy.mockRestore();
    },
  };
}
