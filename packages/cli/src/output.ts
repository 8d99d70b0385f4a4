/**
 * Where everything the CLI says goes:
 * - the result: one JSON document on stdout with --json, else text on stdout;
 * - information and warnings for people: stderr, text mode only (--quiet drops information);
 * - progress: stderr, only when it is a terminal and neither --json nor --quiet is given;
 * - errors: stderr, as text or as {"error":{"code","message"}} with --json;
 * - requests for the person to act (confirm in a browser): stderr always, as text or as one
 *   JSON line with --json — even --quiet cannot hide what the command is waiting for.
 */
import { inspect } from 'node:util';
import { CofferError } from '@coffer/core';
import { errorCodeFor, hintFor, isSystemError } from './exit-codes.ts';
import type { Io } from './io.ts';
import { type Progress, TerminalProgress, silentProgress } from './progress.ts';

export interface OutputOptions {
  readonly json: boolean;
  readonly quiet: boolean;
  readonly debug: boolean;
}

export class Output {
  readonly json: boolean;
  readonly quiet: boolean;
  readonly debug: boolean;
  private readonly io: Io;
  private readonly warnings: string[] = [];
  private activeProgress: Progress = silentProgress;
  private muted = false;

  constructor(io: Io, options: OutputOptions) {
    this.io = io;
    this.json = options.json;
    this.quiet = options.quiet;
    this.debug = options.debug;
  }

  /** A line for people on stderr; nothing in --json or --quiet mode. */
  info(line: string): void {
    if (this.json || this.quiet) return;
    this.stderrLine(line);
  }

  /** A warning: on stderr in text mode, in the result's "warnings" with --json. */
  warn(line: string): void {
    if (this.json) this.warnings.push(line);
    else this.stderrLine(`warning: ${line}`);
  }

  /** The command's result: `doc` as JSON with --json, else `text` (lines) on stdout. */
  result(doc: Record<string, unknown>, text: string | readonly string[]): void {
    this.activeProgress.clear();
    if (this.json) {
      const body = this.warnings.length > 0 ? { ...doc, warnings: this.warnings } : doc;
      this.write('stdout', `${JSON.stringify(body)}\n`);
      return;
    }
    const lines = typeof text === 'string' ? [text] : text;
    if (lines.length > 0) this.write('stdout', `${lines.join('\n')}\n`);
  }

  /** A progress bar on a terminal, or nothing. Only one is active at a time. */
  progress(label: string): Progress {
    this.activeProgress.clear();
    this.activeProgress = this.muted || this.json || this.quiet || this.io.stderr.isTTY !== true ? silentProgress : new TerminalProgress(this.io.stderr, label);
    return this.activeProgress;
  }

  clearProgress(): void {
    this.activeProgress.clear();
  }

  /** Something the person must do before the command can go on: `doc` as a JSON line with --json, else `lines`. */
  actionNeeded(doc: Record<string, unknown>, lines: readonly string[]): void {
    this.activeProgress.clear();
    if (this.json) this.write('stderr', `${JSON.stringify(doc)}\n`);
    else for (const line of lines) this.stderrLine(line);
  }

  error(error: unknown): void {
    this.activeProgress.clear();
    const code = errorCodeFor(error);
    const message = messageOf(error);
    if (this.json) {
      this.write('stderr', `${JSON.stringify({ error: { code, message } })}\n`);
    } else {
      this.stderrLine(`coffer: ${message}`);
      const hint = hintFor(error);
      if (hint !== undefined) this.stderrLine(`hint: ${hint}`);
    }
    if (this.debug) this.stderrLine(debugDetails(error));
  }

  private stderrLine(line: string): void {
    this.activeProgress.clear();
    this.write('stderr', `${line}\n`);
  }

  /** From now on, say nothing (the process is being stopped by a signal). */
  mute(): void {
    this.activeProgress.clear();
    this.activeProgress = silentProgress;
    this.muted = true;
  }

  private write(stream: 'stdout' | 'stderr', text: string): void {
    if (!this.muted) this.io[stream].write(text);
  }
}

export function messageOf(error: unknown): string {
  if (error instanceof CofferError) return error.message;
  if (isSystemError(error)) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}

/** The stack and the chain of causes, for COFFER_DEBUG=1. */
function debugDetails(error: unknown): string {
  const lines: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && depth < 8; depth++) {
    lines.push(current instanceof Error ? (current.stack ?? `${current.name}: ${current.message}`) : inspect(current));
    current = current instanceof Error ? current.cause : undefined;
    if (current !== undefined) lines.push('caused by:');
  }
  return lines.join('\n');
}
