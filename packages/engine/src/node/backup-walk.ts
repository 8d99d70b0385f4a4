/**
 * The first pass of a backup: walk the sources, compare every file with the parent snapshot,
 * and list the files that must be read. Knowing them all before reading any lets the reader
 * run ahead across files (read-ahead.ts); the walk also gives the totals progress shows.
 *
 * A file unchanged since the parent (same size, mtime and mode, every blob still indexed) keeps
 * its parent's node and is not read.
 */
import { lstat, readdir, readlink } from 'node:fs/promises';
import { type BigIntStats, lstatSync } from 'node:fs';
import { CofferError, fromHex } from '@coffer/core';
import { contentKnown } from '../repo/content-list.ts';
import type { Repository } from '../repo/repository.ts';
import { type TreeNode, decodeTree } from '../repo/tree.ts';

/** A file to read; `node` is set once its content is stored (left unset if it proved unreadable). */
export interface FileJob {
  readonly path: string;
  readonly name: string;
  readonly mode: number;
  readonly mtime: string;
  readonly size: number;
  node?: TreeNode;
}

export type PlannedEntry =
  | { readonly kind: 'node'; readonly node: TreeNode }
  | { readonly kind: 'file'; readonly job: FileJob }
  | { readonly kind: 'dir'; readonly name: string; readonly mode: number; readonly mtime: string; readonly entries: readonly PlannedEntry[] };

export interface Unreadable {
  readonly path: string;
  readonly message: string;
}

export interface WalkState {
  readonly repository: Repository;
  /** In no particular order (entries are walked several at once). */
  readonly unreadable: Unreadable[];
  readonly totals: { files: number; bytes: number; totalFiles: number; totalBytes: number };
  dirs: number;
  /** How entries are looked at: synchronously until that proves slow (see statAll). */
  readonly stat?: StatMode;
}

/**
 * Whether the walk still takes lstat synchronously. On a local disk a synchronous lstat costs
 * a few microseconds warm and well under a millisecond cold, where each asynchronous one costs
 * ≈30 µs of promise and thread-pool hand-off: measured on the benchmark's 1,800 files, a cold
 * walk took ≈95 ms instead of ≈150 ms. On a network file system one call can take milliseconds,
 * and then many in flight at once win by far: once the recent calls are slow on average, the
 * rest of the walk makes STAT_CONCURRENCY calls at a time.
 *
 * On average, and leaving out the slowest: a single slow call (an inode block read from a busy
 * disk, a stalled VM) used to switch the whole walk. Measured on 50,000 files of 100 B–3 KB on a
 * cold local disk, that happened in most runs, and the walk then took ≈1 s instead of ≈0.5 s,
 * and the check after reading (backup.ts) as long again.
 */
export interface StatMode {
  sync: boolean;
  /** Recent synchronous calls slower than this (ms) on average switch to concurrent ones. */
  readonly slowMs: number;
  /** The durations (ms) of the last STAT_WINDOW synchronous calls. */
  readonly recent: number[];
}

export function statMode(slowMs = SLOW_STAT_MS): StatMode {
  return { sync: true, slowMs, recent: [] };
}

const SLOW_STAT_MS = 0.5;
/** Calls the average is taken over; none is judged on fewer than STAT_WINDOW_MIN. */
const STAT_WINDOW = 32;
const STAT_WINDOW_MIN = 8;

/** Records a synchronous call's duration; switches `mode` to concurrent calls when they have been slow. */
export function judge(mode: StatMode, ms: number): void {
  const recent = mode.recent;
  recent.push(ms);
  if (recent.length > STAT_WINDOW) recent.shift();
  if (recent.length < STAT_WINDOW_MIN) return;
  let sum = 0;
  let slowest = 0;
  for (const d of recent) {
    sum += d;
    slowest = Math.max(slowest, d);
  }
  if ((sum - slowest) / (recent.length - 1) > mode.slowMs) mode.sync = false;
}
/** lstat calls in flight while a directory is listed, once they are asynchronous. */
const STAT_CONCURRENCY = 32;
/** Entries of one directory walked at once (each may be a directory with a listing to read). */
const ENTRY_CONCURRENCY = 8;

/** `fn` over `items` with at most `limit` calls pending; results in the order of `items`. */
async function mapInOrder<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** The files to read, in the order the plan lists them (the order the reader reads them in). */
export function jobsOf(entries: readonly PlannedEntry[], into: FileJob[] = []): FileJob[] {
  for (const entry of entries) {
    if (entry.kind === 'file') into.push(entry.job);
    else if (entry.kind === 'dir') jobsOf(entry.entries, into);
  }
  return into;
}

export async function walk(state: WalkState, path: string, name: string, previous: TreeNode | undefined): Promise<PlannedEntry | undefined> {
  let info: BigIntStats;
  try {
    info = await lstat(path, { bigint: true });
  } catch (error) {
    state.unreadable.push({ path, message: describe(error) });
    return undefined;
  }
  return walkEntry(state, path, name, info, previous);
}

async function walkEntry(state: WalkState, path: string, name: string, info: BigIntStats, previous: TreeNode | undefined): Promise<PlannedEntry | undefined> {
  const mode = Number(info.mode & 0o7777n);
  const mtime = String(info.mtimeNs);
  try {
    if (info.isDirectory()) {
      const parentTree = previous?.type === 'dir' && previous.subtree ? await loadTree(state.repository, previous.subtree) : undefined;
      const names = (await listNames(state, path)).sort();
      const infos = await statAll(names.map((entry) => `${path}/${entry}`), state.stat);
      // Entries (subdirectories too) are walked several at once: with a cold cache every
      // directory listing is a disk read. The plan keeps their order.
      const planned = await mapInOrder(names, ENTRY_CONCURRENCY, async (entry, i) => {
        const child = `${path}/${entry}`;
        const stat = infos[i];
        if (!stat || stat instanceof Error) {
          state.unreadable.push({ path: child, message: describe(stat) });
          return undefined;
        }
        return walkEntry(state, child, entry, stat, parentTree?.get(entry));
      });
      state.dirs++;
      return { kind: 'dir', name, mode, mtime, entries: planned.filter((p) => p !== undefined) };
    }
    if (info.isSymbolicLink()) {
      const target = utf8(await readlink(path, { encoding: 'buffer' }));
      if (target === undefined) {
        state.unreadable.push({ path, message: `${NOT_UTF8}: the link's target is not valid UTF-8, and snapshots store targets as UTF-8 (skipped)` });
        return undefined;
      }
      return { kind: 'node', node: { name, type: 'symlink', mode, mtime, target } };
    }
    if (info.isFile()) {
      const size = Number(info.size);
      state.totals.totalFiles++;
      state.totals.totalBytes += size;
      if (previous?.type === 'file' && previous.size === size && previous.mtime === mtime && previous.mode === mode && (await contentKnown(state.repository, previous))) {
        state.totals.files++;
        state.totals.bytes += size;
        return { kind: 'node', node: previous };
      }
      return { kind: 'file', job: { path, name, mode, mtime, size } };
    }
    state.unreadable.push({ path, message: 'not a regular file, directory or symbolic link (skipped)' });
    return undefined;
  } catch (error) {
    if (isFileSystemError(error)) {
      state.unreadable.push({ path, message: describe(error) });
      return undefined;
    }
    throw error;
  }
}

/** The errno for an illegal byte sequence: what a name or link target that is not UTF-8 is reported with. */
const NOT_UTF8 = 'EILSEQ';
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The text of UTF-8 bytes, or undefined if they are not valid UTF-8. */
function utf8(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * A directory's entry names. Linux names are bytes; Node decodes them as UTF-8 and replaces what
 * is not with U+FFFD, so such a name could be neither read back nor restored (and two names could
 * come out the same). Trees store names as UTF-8, so an entry whose name is not valid UTF-8 is
 * listed as unreadable, shown with its odd bytes escaped. Only a listing with a U+FFFD in it is
 * read again as bytes to tell them apart.
 */
async function listNames(state: WalkState, path: string): Promise<string[]> {
  const names = await readdir(path);
  if (!names.some((n) => n.includes('\uFFFD'))) return names;
  const valid: string[] = [];
  for (const raw of await readdir(path, { encoding: 'buffer' })) {
    const name = utf8(raw);
    if (name !== undefined) valid.push(name);
    else state.unreadable.push({ path: `${path}/${escapeBytes(raw)}`, message: `${NOT_UTF8}: the name is not valid UTF-8, and snapshots store names as UTF-8 (skipped)` });
  }
  return valid;
}

/** Printable ASCII as it is, every other byte as \xNN. */
function escapeBytes(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  return out;
}

/**
 * lstat of every path — synchronously while `mode` says so and calls stay fast, then several at
 * once (StatMode) — with a failure returned in its place.
 */
export async function statAll(paths: readonly string[], mode?: StatMode): Promise<(BigIntStats | Error)[]> {
  const out: (BigIntStats | Error)[] = new Array<BigIntStats | Error>(paths.length);
  let next = 0;
  while (mode?.sync && next < paths.length) {
    const started = performance.now();
    out[next] = lstatOrError(paths[next] as string);
    next++;
    judge(mode, performance.now() - started);
  }
  const worker = async (): Promise<void> => {
    while (next < paths.length) {
      const i = next++;
      out[i] = await lstat(paths[i] as string, { bigint: true }).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
    }
  };
  await Promise.all(Array.from({ length: Math.min(STAT_CONCURRENCY, paths.length - next) }, worker));
  return out;
}

function lstatOrError(path: string): BigIntStats | Error {
  try {
    return lstatSync(path, { bigint: true });
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

export async function loadTree(repository: Repository, treeId: string): Promise<Map<string, TreeNode>> {
  const tree = decodeTree(await repository.loadBlob('tree', fromHex(treeId)), `tree ${treeId}`);
  return new Map(tree.nodes.map((node) => [node.name, node]));
}

/** Errors from the operating system (EACCES, EIO, ENOENT…) make a file unreadable; anything else stops the backup. */
export function isFileSystemError(error: unknown): boolean {
  if (!(error instanceof Error) || error instanceof CofferError || !('code' in error)) return false;
  return typeof error.code === 'string' && /^E[A-Z0-9]+$/.test(error.code);
}

export function describe(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error) return `${String(error.code)}: ${error instanceof Error ? error.message : ''}`;
  return String(error);
}
