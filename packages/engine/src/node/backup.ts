/**
 * Backs up files and directories into a repository as one snapshot.
 *
 * Three passes. The walk (backup-walk.ts) compares every file with the parent snapshot: an
 * unchanged one (same size, mtime and mode) keeps its content list without being read. Then the
 * files to read are read ahead of need (read-ahead.ts) and cut by the chunker on the main thread;
 * the chunks are MACed, and those the repository lacks go to the pack workers to be compressed,
 * sealed and packed while each pack is written as it grows (file-chunks.ts, pack-pipeline.ts).
 * Last,
 * the directory trees are saved bottom-up and, once every pack and index file is durable, the
 * snapshot. Memory stays flat whatever the data size: file pieces live in one ring of shared
 * memory (read ahead up to a budget, read in place by the workers), pack bytes in a few
 * segment slots per worker.
 */
import { hostname } from 'node:os';
import { basename, resolve } from 'node:path';
import { lstat } from 'node:fs/promises';
import { fail, toHex } from '@coffer/core';
import type { Repository } from '../repo/repository.ts';
import type { StoredSnapshot } from '../repo/snapshot.ts';
import { saveContentIds } from '../repo/content-list.ts';
import { type Tree, type TreeNode, encodeTree } from '../repo/tree.ts';
import { type FileJob, type PlannedEntry, type Unreadable, type WalkState, describe, isFileSystemError, jobsOf, loadTree, statAll, statMode, walk } from './backup-walk.ts';
import { type ChunkStream, openChunkStream } from './chunk-stream.ts';
import { PackPipeline } from './pack-pipeline.ts';
import { FileChunks } from './file-chunks.ts';
import { IdMac } from './id-mac.ts';
import { ReadAhead } from './read-ahead.ts';
import { SharedRing } from './shared-ring.ts';
import { changedWhileRead } from './sqlite-live.ts';
import { SNIFF_BYTES, type SqliteLayout, detectSqlite } from '../chunker/sqlite.ts';

export type { Unreadable } from './backup-walk.ts';

const PIECE_BYTES = 4 * 1024 * 1024;
const READ_AHEAD_BYTES = 8 * 1024 * 1024;
/** Files smaller than this are read by the small-file reader's thread (small-files.ts). */
const SMALL_FILE_BYTES = 64 * 1024;

export interface BackupProgress {
  readonly files: number;
  readonly bytes: number;
  readonly totalFiles: number;
  readonly totalBytes: number;
  readonly addedBytes: number;
}

export interface BackupOptions {
  readonly host?: string;
  readonly tags?: readonly string[];
  /** Snapshot whose unchanged files are reused without reading; defaults to the latest one. */
  readonly parent?: StoredSnapshot | null;
  readonly onProgress?: (progress: BackupProgress) => void;
  /** Worker threads that compress and seal (default: one per core but one, at most four). */
  readonly workers?: number;
  readonly now?: () => Date;
}

export interface BackupReport {
  readonly snapshot: StoredSnapshot;
  readonly unreadable: Unreadable[];
  /** Files in the snapshot that need a look: they changed while being read (a live SQLite database, sqlite-live.ts). */
  readonly warnings: Unreadable[];
  readonly progress: BackupProgress;
}

interface Context extends WalkState {
  readonly ring: SharedRing;
  readonly pipeline: PackPipeline;
  readonly reader: ReadAhead;
  /** The blob-id key when the main thread MACs the chunks itself: with one worker, it is the other core. */
  readonly idMac: IdMac | undefined;
  readonly warnings: Unreadable[];
  /** Files read, to look at again once all are: did any change meanwhile (sqlite-live.ts)? */
  readonly checks: { readonly job: FileJob; readonly layout: SqliteLayout | undefined }[];
  readonly report: () => void;
}

export async function backup(repository: Repository, paths: readonly string[], options: BackupOptions = {}): Promise<BackupReport> {
  if (paths.length === 0) fail('E_INVALID_ARGUMENT', 'name at least one file or directory to back up');
  const sources = paths.map((p) => resolve(p));
  const names = sources.map((p) => basename(p) || 'root');
  if (new Set(names).size !== names.length) fail('E_INVALID_ARGUMENT', 'two sources share a name; back them up in separate snapshots');
  for (const source of sources) {
    await lstat(source).catch((cause: unknown) => fail('E_INVALID_ARGUMENT', `cannot read ${source}`, cause));
  }
  repository.forgetReads();
  // Room for the pieces read ahead, plus a chunk that spans pieces (copied in), so both always fit.
  const ring = new SharedRing(READ_AHEAD_BYTES + Math.max(PIECE_BYTES, repository.params.chunker.max) + PIECE_BYTES);
  // The workers start now, while the walk runs: a thread takes a moment to boot.
  const pipeline = new PackPipeline(repository, ring, options.workers === undefined ? {} : { workers: options.workers });
  try {
    const parent = options.parent === undefined ? await repository.latestSnapshot() : options.parent ?? undefined;
    const startAdded = repository.addedBytes;
    const state: WalkState = { repository, unreadable: [], totals: { files: 0, bytes: 0, totalFiles: 0, totalBytes: 0 }, dirs: 0, stat: statMode() };
    const parentRoot = parent ? await loadTree(repository, parent.snapshot.tree) : undefined;
    const roots: PlannedEntry[] = [];
    for (const [i, source] of sources.entries()) {
      const name = names[i] ?? '';
      const planned = await walk(state, source, name, parentRoot?.get(name));
      if (planned) roots.push(planned);
    }
    const progress = (): BackupProgress => ({ ...state.totals, addedBytes: repository.addedBytes - startAdded });
    state.unreadable.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const jobs = jobsOf(roots);
    const reader = new ReadAhead(ring, jobs, { pieceBytes: PIECE_BYTES, aheadBytes: READ_AHEAD_BYTES, reads: 4, smallBytes: SMALL_FILE_BYTES });
    const idMac = pipeline.workers.size < 2 ? new IdMac(repository.keys.blobId) : undefined;
    const ctx: Context = { ...state, ring, pipeline, reader, idMac, warnings: [], checks: [], report: () => options.onProgress?.(progress()) };
    const finishing = new Finishing();
    try {
      for (const [i, job] of jobs.entries()) await finishing.add(await backupFile(ctx, i, job));
      await finishing.all();
    } finally {
      await finishing.settle();
      await reader.close();
    }
    await pipeline.flush();
    await checkUnchanged(ctx);
    const rootNodes: TreeNode[] = [];
    for (const planned of roots) {
      const node = await saveEntry(repository, planned);
      if (node) rootNodes.push(node);
    }
    const rootId = await saveTree(repository, { nodes: rootNodes });
    await repository.flush();
    ctx.report();
    const totals = progress();
    const snapshot = await repository.saveSnapshot({
      time: (options.now?.() ?? new Date()).toISOString(),
      host: options.host ?? hostname(),
      paths: sources,
      tags: [...(options.tags ?? [])],
      tree: rootId,
      summary: { files: totals.files, dirs: state.dirs, bytes: totals.bytes, addedBytes: totals.addedBytes, addedBlobs: repository.addedBlobs },
    });
    return { snapshot, unreadable: state.unreadable, warnings: ctx.warnings, progress: totals };
  } finally {
    await pipeline.close();
  }
}

/**
 * Reads and chunks one file, handing its chunks on to be MACed and stored; lists it as
 * unreadable if reading fails. Returns what is left to do — wait for the chunks' ids and
 * record the file's node — so that the next file is read meanwhile: waiting for each file's
 * last ids (a round trip through a busy worker, per media file) left the main thread idle at
 * every file. Measured on two cores, a first backup of the 1.2 GB benchmark: 6.2–7.1 s
 * instead of 6.7–7.4 s.
 */
async function backupFile(ctx: Context, index: number, job: FileJob): Promise<{ readonly rest: Promise<void> } | undefined> {
  const chunker: ChunkStream = await openChunkStream(ctx.repository);
  const chunks = new FileChunks(ctx.ring, ctx.pipeline, ctx.repository, ctx.idMac);
  let size = 0;
  let whole = false;
  try {
    for await (const piece of ctx.reader.pieces(index)) {
      size += piece.bytes.length;
      ctx.totals.bytes += piece.bytes.length;
      const release = (): void => {
        ctx.reader.release(piece);
      };
      whole = piece.last && size === piece.bytes.length && isOneChunk(ctx.repository, piece.bytes);
      await chunks.add(whole ? [piece.bytes] : piece.last ? chunker.pushLast(piece.bytes) : chunker.push(piece.bytes), release);
      ctx.report();
    }
    if (!whole) await chunks.add(chunker.finish(), () => undefined);
  } catch (error) {
    // Chunks already handed on are stored anyway (harmless, as after an interrupted backup).
    chunks.ids().catch(() => undefined);
    if (!isFileSystemError(error)) throw error;
    ctx.unreadable.push({ path: job.path, message: describe(error) });
    return undefined;
  }
  // Checked once every file is read (in backup()): stat calls here would compete with the read-ahead.
  ctx.checks.push({ job, layout: chunker.sqlite });
  // Wrapped: an async function's promise would otherwise wait for this one too.
  const rest = (async () => {
    const ids = await chunks.ids();
    // The size is what was read: a file that changed while being read is recorded as it was read.
    job.node = { name: job.name, type: 'file', mode: job.mode, mtime: job.mtime, size, ...(await saveContentIds(ctx.repository, ids)) };
    ctx.totals.files++;
    ctx.report();
  })();
  return { rest };
}

/** lstat calls per statAll in checkUnchanged: their results are held until looked at. */
const CHECK_BATCH = 1024;

/**
 * Warns of every file read that changed meanwhile (sqlite-live.ts). The lstat calls go as the
 * walk's do (statAll): synchronously while they are fast, which they are once a file was just
 * read. With one asynchronous lstat per file (thread-pool hand-offs and a promise each), the
 * check of 50,000 small files took ≈0.9 s; this way ≈0.25 s (phase marks, cold cache).
 */
async function checkUnchanged(ctx: Context): Promise<void> {
  for (let from = 0; from < ctx.checks.length; from += CHECK_BATCH) {
    const batch = ctx.checks.slice(from, from + CHECK_BATCH);
    const infos = await statAll(batch.map(({ job }) => job.path), ctx.stat);
    for (const [i, { job, layout }] of batch.entries()) {
      const message = await changedWhileRead(job, layout, infos[i]);
      if (message !== undefined) ctx.warnings.push({ path: job.path, message });
    }
  }
}

/** Files read but not yet recorded, a bounded number at a time; the first failure wins. */
class Finishing {
  /** Each holds only its chunks' ids: a few hundred cost little, and cover any worker backlog. */
  static readonly LIMIT = 256;
  readonly #pending = new Set<Promise<void>>();
  #failure: { error: unknown } | undefined;

  async add(file: { readonly rest: Promise<void> } | undefined): Promise<void> {
    this.#throwFailure();
    if (file === undefined) return;
    const tracked = file.rest.then(
      () => {
        this.#pending.delete(tracked);
      },
      (error: unknown) => {
        this.#pending.delete(tracked);
        this.#failure ??= { error };
      },
    );
    this.#pending.add(tracked);
    if (this.#pending.size >= Finishing.LIMIT) await Promise.race(this.#pending);
    this.#throwFailure();
  }

  /** Waits for every file; throws the first failure. */
  async all(): Promise<void> {
    await this.settle();
    this.#throwFailure();
  }

  /** Waits for every file, failed or not (nothing may still use the ring after a backup ends). */
  async settle(): Promise<void> {
    await Promise.all(this.#pending);
  }

  #throwFailure(): void {
    if (this.#failure) throw this.#failure.error;
  }
}

/**
 * Whether a whole file, read in one piece, is one chunk — as the chunker would cut it, without
 * its two copies (into its buffer, and out at the end). A chunk is never cut before `min` bytes,
 * so a file shorter than that is one chunk, unless it is an SQLite file, which is cut by pages
 * (chunker/sqlite.ts decides from the same first bytes). Most media files are such a chunk.
 */
function isOneChunk(repository: Repository, bytes: Uint8Array): boolean {
  return bytes.length > 0 && bytes.length < repository.params.chunker.min && typeof detectSqlite(bytes.subarray(0, SNIFF_BYTES)) === 'string';
}

/** Saves the trees of a planned entry bottom-up; returns its node (undefined for a file that proved unreadable). */
async function saveEntry(repository: Repository, planned: PlannedEntry): Promise<TreeNode | undefined> {
  switch (planned.kind) {
    case 'node':
      return planned.node;
    case 'file':
      return planned.job.node;
    case 'dir': {
      const nodes: TreeNode[] = [];
      for (const entry of planned.entries) {
        const node = await saveEntry(repository, entry);
        if (node) nodes.push(node);
      }
      return { name: planned.name, type: 'dir', mode: planned.mode, mtime: planned.mtime, subtree: await saveTree(repository, { nodes }) };
    }
  }
}

async function saveTree(repository: Repository, tree: Tree): Promise<string> {
  const { id } = await repository.saveBlob('tree', encodeTree(tree));
  return toHex(id);
}
