/** What every command is: its help, its options, and what it runs. */
import type { OptionSpecs, ParsedArgs } from './args.ts';
import type { Session } from './session.ts';

export interface Command {
  /** "backup", or "key add" for a subcommand. */
  readonly name: string;
  /** One line for `coffer --help`. */
  readonly summary: string;
  /** The arguments after the options, e.g. "PATH...". */
  readonly usage: string;
  /** Paragraphs for `coffer NAME --help`. */
  readonly description: string;
  readonly options: OptionSpecs;
  /** How many arguments it takes. */
  readonly args: { readonly min: number; readonly max: number };
  /** Whether the command works on a repository (for the help text). */
  readonly repository: boolean;
  /** Returns the exit code. */
  run(session: Session, args: ParsedArgs, operands: readonly string[]): Promise<number>;
}
