/**
 * One run of `coffer`: parse the line, find the command, run it, and turn
 * whatever happened into output and an exit code. Never throws.
 */
import { booleanOption, parseCommandArgs, prescan, stringOption } from './args.ts';
import { COMMANDS, GROUPS, findCommand } from './commands/index.ts';
import { versionCommand } from './commands/version.ts';
import { EXIT, UsageError, exitCodeFor } from './exit-codes.ts';
import { commandHelp, groupHelp, mainHelp } from './help.ts';
import type { Io } from './io.ts';
import { Output } from './output.ts';
import { Session } from './session.ts';

/** The output of the command running now, so a signal handler can report through it. */
let currentOutput: Output | undefined;

export function runningOutput(): Output | undefined {
  return currentOutput;
}

export async function run(io: Io): Promise<number> {
  const pre = prescan(io.argv);
  const json = booleanOption(pre, 'json');
  const output = new Output(io, { json, quiet: booleanOption(pre, 'quiet'), debug: io.env.COFFER_DEBUG === '1' });
  currentOutput = output;
  const help = booleanOption(pre, 'help');
  const words = pre.positionals;
  try {
    if (words.length === 0) {
      if (booleanOption(pre, 'version') && !help) return await versionCommand.run(new Session(io, output, { repo: undefined, recoveryKeyFile: undefined }), pre, []);
      if (help) {
        io.stdout.write(`${mainHelp()}\n`);
        return EXIT.ok;
      }
      if (!json) io.stderr.write(`${mainHelp()}\n\n`);
      throw new UsageError('no command given');
    }
    if (words[0] === 'help') return showHelp(io, words.slice(1));
    const found = findCommand(words);
    if (!found) {
      const [first = '', second] = words;
      if (first in GROUPS) {
        if (help) {
          io.stdout.write(`${groupHelp(first)}\n`);
          return EXIT.ok;
        }
        if (second === undefined && !json) io.stderr.write(`${groupHelp(first)}\n`);
        throw new UsageError(second === undefined ? `"coffer ${first}" needs a subcommand` : `unknown subcommand "${first} ${second}"`, first);
      }
      throw new UsageError(`unknown command "${first}"${suggestion(first)}`);
    }
    const { command, consumed } = found;
    if (help) {
      io.stdout.write(`${commandHelp(command)}\n`);
      return EXIT.ok;
    }
    const args = parseCommandArgs(io.argv, command.options, command.name);
    const operands = args.positionals.slice(consumed);
    if (operands.length < command.args.min || operands.length > command.args.max) {
      throw new UsageError(arityMessage(command.name, command.usage, command.args, operands.length), command.name);
    }
    const session = new Session(io, output, { repo: stringOption(args, 'repo'), recoveryKeyFile: stringOption(args, 'recovery-key-file') });
    try {
      return await command.run(session, args, operands);
    } finally {
      await session.close().catch(() => undefined);
    }
  } catch (error) {
    output.error(error);
    if (error instanceof UsageError && !json) io.stderr.write(`${error.command === undefined ? 'see `coffer --help`' : `see \`coffer ${error.command} --help\``}\n`);
    return exitCodeFor(error);
  } finally {
    currentOutput = undefined;
  }
}

function showHelp(io: Io, words: readonly string[]): number {
  const [first] = words;
  const found = findCommand(words);
  if (first === undefined) io.stdout.write(`${mainHelp()}\n`);
  else if (found) io.stdout.write(`${commandHelp(found.command)}\n`);
  else if (first in GROUPS) io.stdout.write(`${groupHelp(first)}\n`);
  else throw new UsageError(`unknown command "${first}"${suggestion(first)}`);
  return EXIT.ok;
}

function arityMessage(name: string, usage: string, args: { min: number; max: number }, got: number): string {
  const expected = args.max === 0 ? 'takes no arguments' : args.min === args.max ? `takes ${String(args.min)} argument${args.min === 1 ? '' : 's'}` : `takes at least ${String(args.min)} argument${args.min === 1 ? '' : 's'}`;
  return `${name} ${expected}${usage === '' ? '' : ` (${usage})`}, got ${String(got)}`;
}

/** " (did you mean …?)" for a command one or two edits away. */
function suggestion(word: string): string {
  const names = [...new Set(COMMANDS.map((c) => c.name.split(' ')[0] ?? ''))];
  const close = names.find((name) => editDistance(name, word) <= 2);
  return close === undefined ? '' : ` (did you mean "${close}"?)`;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] ?? 0;
      row[j] = Math.min(above + 1, (row[j - 1] ?? 0) + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length] ?? 0;
}
