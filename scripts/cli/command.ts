/** What every `coffer` subcommand shares. */
export const EXIT = { ok: 0, problems: 1, usage: 2, failed: 3 } as const;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export interface Command {
  summary: string;
  usage: string;
  run(args: string[]): Promise<number>;
}
