/**
 * A one-line progress bar on stderr: counts, bytes, percentage and ETA,
 * redrawn at most ten times a second. Only ever shown on a terminal; the
 * Output decides that.
 */
import type { OutStream } from './io.ts';
import { formatBytes, formatDuration } from './format.ts';

export interface ProgressState {
  /** What is being counted: "files", "packs". */
  readonly unit: string;
  readonly done: number;
  readonly total: number;
  readonly bytes?: number;
  readonly totalBytes?: number;
  /** Extra text at the end, e.g. "1.2 MiB new". */
  readonly note?: string;
}

const BAR_WIDTH = 20;
const REDRAW_MS = 100;

/** The fraction done, by bytes when there are any, else by count. */
export function fractionDone(state: ProgressState): number {
  if (state.totalBytes !== undefined && state.totalBytes > 0) return Math.min(1, (state.bytes ?? 0) / state.totalBytes);
  if (state.total > 0) return Math.min(1, state.done / state.total);
  return 0;
}

/** Remaining time at the rate so far, or undefined before there is a rate to speak of. */
export function eta(fraction: number, elapsedMs: number): number | undefined {
  if (fraction <= 0 || fraction >= 1 || elapsedMs < 1000) return undefined;
  return (elapsedMs / fraction) * (1 - fraction);
}

export function renderProgress(label: string, state: ProgressState, elapsedMs: number, width = 80): string {
  const fraction = fractionDone(state);
  const filled = Math.round(fraction * BAR_WIDTH);
  const bar = `[${'='.repeat(Math.max(0, filled - 1))}${filled > 0 ? (filled === BAR_WIDTH ? '=' : '>') : ''}${' '.repeat(BAR_WIDTH - filled)}]`;
  const parts = [label, bar, `${String(Math.floor(fraction * 100)).padStart(3)}%`, `${String(state.done)}/${String(state.total)} ${state.unit}`];
  if (state.totalBytes !== undefined) parts.push(`${formatBytes(state.bytes ?? 0)}/${formatBytes(state.totalBytes)}`);
  const remaining = eta(fraction, elapsedMs);
  parts.push(remaining === undefined ? `${formatDuration(elapsedMs)} elapsed` : `ETA ${formatDuration(remaining)}`);
  if (state.note !== undefined) parts.push(state.note);
  const line = parts.join('  ');
  return line.length > width - 1 ? line.slice(0, Math.max(0, width - 1)) : line;
}

export interface Progress {
  update(state: ProgressState): void;
  /** Removes the line (call before printing anything else, and at the end). */
  clear(): void;
}

export const silentProgress: Progress = { update: () => undefined, clear: () => undefined };

export class TerminalProgress implements Progress {
  private readonly stream: OutStream;
  private readonly label: string;
  private readonly now: () => number;
  private readonly started: number;
  private lastDraw = 0;
  private shown = false;

  constructor(stream: OutStream, label: string, now: () => number = Date.now) {
    this.stream = stream;
    this.label = label;
    this.now = now;
    this.started = now();
  }

  update(state: ProgressState): void {
    const now = this.now();
    const finished = state.total > 0 && state.done >= state.total;
    if (!finished && now - this.lastDraw < REDRAW_MS) return;
    this.lastDraw = now;
    this.stream.write(`\r\x1b[2K${renderProgress(this.label, state, now - this.started, this.stream.columns || 80)}`);
    this.shown = true;
  }

  clear(): void {
    if (!this.shown) return;
    this.stream.write('\r\x1b[2K');
    this.shown = false;
  }
}
