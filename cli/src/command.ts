/** A CLI subcommand: `lgefed <name> ...args`. Each area of the product contributes its own. */
export interface Command {
  /** Words after `lgefed`, e.g. `keygen` or `data check`. */
  readonly name: string;
  /** One line for `lgefed --help`. */
  readonly summary: string;
  /** Full usage text for `lgefed <name> --help`. */
  readonly usage: string;
  /** Returns the process exit status. */
  run(args: string[]): Promise<number>;
}

/** Thrown for wrong command-line usage; printed with the command's usage, exit status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
