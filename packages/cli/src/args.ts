/**
 * Command-line parsing with node:util parseArgs. Global options may stand
 * anywhere, before or after the command (restic's convention); `--` ends the
 * options, so a path that starts with `-` can still be backed up.
 */
import { parseArgs } from 'node:util';
import { UsageError } from './exit-codes.ts';

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly multiple?: boolean;
  /** Placeholder shown in help, e.g. FILE. */
  readonly value?: string;
  readonly description: string;
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

export const GLOBAL_OPTIONS: OptionSpecs = {
  repo: { type: 'string', short: 'r', value: 'REPOSITORY', description: 'the repository: a local path, s3:https://host/bucket[/prefix], webdav:https://host/path or coffer:https://host (default: $COFFER_REPOSITORY)' },
  'recovery-key-file': { type: 'string', value: 'FILE', description: 'read the recovery key from FILE (default: $COFFER_RECOVERY_KEY_FILE, then $COFFER_RECOVERY_KEY)' },
  json: { type: 'boolean', description: 'print one JSON document on stdout; errors as JSON on stderr' },
  quiet: { type: 'boolean', short: 'q', description: 'no progress and no informational messages' },
  help: { type: 'boolean', short: 'h', description: 'show help' },
};

export type OptionValues = Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;

export interface ParsedArgs {
  readonly values: OptionValues;
  readonly positionals: readonly string[];
}

type ParseArgsOptions = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;

function toParseArgs(specs: OptionSpecs): ParseArgsOptions {
  const out: ParseArgsOptions = {};
  for (const [name, spec] of Object.entries(specs)) {
    out[name] = { type: spec.type, ...(spec.short === undefined ? {} : { short: spec.short }), ...(spec.multiple === true ? { multiple: true } : {}) };
  }
  return out;
}

/**
 * A lenient first pass: the global options and the words that name the
 * command (`backup`, `key add`), before the command's own options are known.
 */
export function prescan(argv: readonly string[]): ParsedArgs {
  const { values, positionals } = parseArgs({ args: [...argv], options: toParseArgs(GLOBAL_OPTIONS), strict: false, allowPositionals: true });
  return { values, positionals };
}

/** The strict pass, with the global options and those of the command. */
export function parseCommandArgs(argv: readonly string[], options: OptionSpecs, command: string): ParsedArgs {
  try {
    const { values, positionals } = parseArgs({ args: [...argv], options: toParseArgs({ ...GLOBAL_OPTIONS, ...options }), strict: true, allowPositionals: true });
    return { values, positionals };
  } catch (error) {
    // parseArgs explains itself well, but its hints mention internals ("To specify a positional argument…").
    const text = error instanceof Error ? error.message : String(error);
    // "--keep-last -1": parseArgs will not take a value that starts with a dash ("argument is ambiguous").
    const ambiguous = /^Option '(-[^']+)' argument is ambiguous/.exec(text);
    if (ambiguous) {
      const long = /use '(--[^=']+)=-XYZ'/.exec(text)?.[1] ?? ambiguous[1];
      throw new UsageError(`option '${ambiguous[1] ?? ''}' needs a value; a value that starts with '-' is written ${long ?? ''}=VALUE`, command);
    }
    const message = (text.split('\n')[0] ?? text).replace(/\.? ?To specify.*$/, '');
    throw new UsageError(message.replace(/^Unknown option/, 'unknown option').replace(/^Option/, 'option'), command);
  }
}

export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const value = args.values[name];
  if (Array.isArray(value)) return value.at(-1) as string | undefined;
  return typeof value === 'string' ? value : undefined;
}

export function stringsOption(args: ParsedArgs, name: string): string[] {
  const value = args.values[name];
  if (value === undefined || typeof value === 'boolean') return [];
  return (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string');
}

export function booleanOption(args: ParsedArgs, name: string): boolean {
  return args.values[name] === true;
}

/** A whole number ≥ `min`, or undefined when the option is absent. */
export function integerOption(args: ParsedArgs, name: string, command: string, min = 0): number | undefined {
  const text = stringOption(args, name);
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text)) || Number(text) < min) {
    throw new UsageError(`--${name} needs a whole number${min > 0 ? ` of at least ${String(min)}` : ''}, not "${text}"`, command);
  }
  return Number(text);
}

/**
 * A point in time as restic's --time takes it: "YYYY-MM-DD HH:MM[:SS]" in local time, the same
 * with a "T", a date alone (local midnight), or any of these with "Z" or an offset like +02:00.
 * Undefined when the option is absent.
 */
export function timeOption(args: ParsedArgs, name: string, command: string): Date | undefined {
  const text = stringOption(args, name);
  if (text === undefined) return undefined;
  const match = /^(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?))?(Z|[+-]\d{2}:\d{2})?$/.exec(text.trim());
  // A date alone would be UTC midnight in JavaScript: given a time of 00:00 it is local midnight, as restic has it.
  const date = match ? new Date(`${match[1] ?? ''}T${match[2] ?? '00:00'}${match[3] ?? ''}`) : undefined;
  if (!date || Number.isNaN(date.getTime()) || date.getUTCFullYear() < 1970 || date.getUTCFullYear() > 9999) {
    throw new UsageError(`--${name} needs a time like "2026-11-01 14:30:00" (local), "2026-11-01T12:00:00Z" or "2026-11-01", not "${text}"`, command);
  }
  return date;
}

export function requireOption(args: ParsedArgs, name: string, command: string): string {
  const value = stringOption(args, name);
  if (value === undefined || value === '') throw new UsageError(`${command} needs --${name}`, command);
  return value;
}
