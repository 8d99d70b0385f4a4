/**
 * Backs up files and directories into a repository as one snapshot.
 *
 * Files unchanged since the parent snapshot (same size, mtime and mode) reuse
 * its content list without being read. Others are read in pieces, cut by the
 * keyed content-defined chunker, and each new chunk is sealed into a pack; a
 * bounded number of chunks is in flight at once, so memory stays flat whatever
 * the data size while hashing, compression and encryption run on both cores
 * (WebCrypto and zlib work on libuv's thread pool). The snapshot is written
 * last, after every pack and index file it needs is durable.
 */
import { hostname } from 'node:os';
import { basename, resolve } from 'node:path';
import { lstat, open, readdir, readlink } from 'node:fs/promises';
import { CofferError, fail, fromHex, toHex } from '@coffer/core';
import type { Repository } from '../repo/repository.ts';
import type { StoredSnapshot } from '../repo/snapshot.ts';
import { type Tree, type TreeNode, decodeTree, encodeTree } from '../repo/tree.ts';
import { type ChunkStream, openChunkStream } from './chunk-stream.ts';
import { Limiter } from './limiter.ts';

const READ_BYTES = 4 * 1024 * 1024;

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
  /** Chunks in flight at once. */
  readonly concurrency?: number;
  readonly now?: () => Date;
}

export interface Unreadable {
  readonly path: string;
  readonly message: string;
}

export interface BackupReport {
  readonly snapshot: StoredSnapshot;
  readonly unreadable: Unreadable[];
  readonly progress: BackupProgress;
}

interface Context {
  readonly repository: Repository;
  readonly limiter: Limiter;
  readonly unreadable: Unreadable[];
  readonly progress: { files: number; bytes: number; totalFiles: number; totalBytes: number; addedBytes: number };
  dirs: number;
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
  const parent = options.parent === undefined ? await repository.latestSnapshot() : options.parent ?? undefined;
  const progress = { files: 0, bytes: 0, totalFiles: 0, totalBytes: 0, addedBytes: 0 };
  for (const source of sources) await scan(source, progress);
  const startAdded = repository.addedBytes;
  const ctx: Context = {
    repository,
    limiter: new Limiter(options.concurrency ?? 8),
    unreadable: [],
    progress,
    dirs: 0,
    report: () => {
      progress.addedBytes = repository.addedBytes - startAdded;
      options.onProgress?.({ ...progress });
    },
  };
  const parentRoot = parent ? await loadTree(repository, parent.snapshot.tree) : undefined;
  const rootNodes: TreeNode[] = [];
  for (const [i, source] of sources.entries()) {
    const name = names[i] ?? '';
    const node = await backupEntry(ctx, source, name, parentRoot?.get(name));
    if (node) rootNodes.push(node);
  }
  const rootId = await saveTree(repository, { nodes: rootNodes });
  await repository.flush();
  ctx.report();
  const snapshot = await repository.saveSnapshot({
    time: (options.now?.() ?? new Date()).toISOString(),
    host: options.host ?? hostname(),
    paths: sources,
    tags: [...(options.tags ?? [])],
    tree: rootId,
    summary: { files: progress.files, dirs: ctx.dirs, bytes: progress.bytes, addedBytes: progress.addedBytes, addedBlobs: repository.addedBlobs },
  });
  return { snapshot, unreadable: ctx.unreadable, progress: { ...progress } };
}

/** A quick walk for totals, so progress can show an ETA. Errors are left for the real pass to report. */
async function scan(path: string, totals: { totalFiles: number; totalBytes: number }): Promise<void> {
  const info = await lstat(path).catch(() => undefined);
  if (!info) return;
  if (info.isFile()) {
    totals.totalFiles++;
    totals.totalBytes += info.size;
  } else if (info.isDirectory()) {
    const entries = await readdir(path).catch(() => [] as string[]);
    for (const entry of entries) await scan(`${path}/${entry}`, totals);
  }
}

async function backupEntry(ctx: Context, path: string, name: string, previous: TreeNode | undefined): Promise<TreeNode | undefined> {
  let info;
  try {
    info = await lstat(path, { bigint: true });
  } catch (error) {
    ctx.unreadable.push({ path, message: describe(error) });
    return undefined;
  }
  const mode = Number(info.mode & 0o7777n);
  const mtime = String(info.mtimeNs);
  try {
    if (info.isDirectory()) {
      const parentTree = previous?.type === 'dir' && previous.subtree ? await loadTree(ctx.repository, previous.subtree) : undefined;
      const entries = (await readdir(path)).sort();
      const nodes: TreeNode[] = [];
      for (const entry of entries) {
        const node = await backupEntry(ctx, `${path}/${entry}`, entry, parentTree?.get(entry));
        if (node) nodes.push(node);
      }
      ctx.dirs++;
      return { name, type: 'dir', mode, mtime, subtree: await saveTree(ctx.repository, { nodes }) };
    }
    if (info.isSymbolicLink()) return { name, type: 'symlink', mode, mtime, target: await readlink(path) };
    if (info.isFile()) {
      const size = Number(info.size);
      if (previous?.type === 'file' && previous.size === size && previous.mtime === mtime && previous.mode === mode && previous.content && contentKnown(ctx.repository, previous.content)) {
        ctx.progress.files++;
        ctx.progress.bytes += size;
        ctx.report();
        return previous;
      }
      const content = await backupFile(ctx, path, size);
      ctx.progress.files++;
      ctx.report();
      return { name, type: 'file', mode, mtime, size, content };
    }
    ctx.unreadable.push({ path, message: 'not a regular file, directory or symbolic link (skipped)' });
    return undefined;
  } catch (error) {
    if (isFileSystemError(error)) {
      ctx.unreadable.push({ path, message: describe(error) });
      return undefined;
    }
    throw error;
  }
}

/** Reuse is only safe for blobs the index still has (a prune may have removed the rest). */
function contentKnown(repository: Repository, content: readonly string[]): boolean {
  return content.every((id) => repository.hasBlob('data', fromHex(id)));
}

async function backupFile(ctx: Context, path: string, expectedSize: number): Promise<string[]> {
  const handle = await open(path, 'r');
  const ids: Promise<Uint8Array>[] = [];
  const chunker: ChunkStream = await openChunkStream(ctx.repository);
  const submit = async (chunk: Uint8Array): Promise<void> => {
    const release = await ctx.limiter.acquire();
    const saved = ctx.repository.saveBlob('data', chunk).then(
      (result) => {
        release();
        ctx.progress.bytes += chunk.length;
        ctx.report();
        return result.id;
      },
      (error: unknown) => {
        release();
        throw error;
      },
    );
    // The file's list awaits every id below; this only keeps an early failure from counting as unhandled.
    saved.catch(() => undefined);
    ids.push(saved);
  };
  try {
    let remaining = expectedSize;
    for (;;) {
      // A fresh buffer per read: chunks are views into it while their blobs are being saved. It is
      // sized to what the file still holds (+1 to notice growth), so a 50 KB photo does not cost a
      // 4 MiB allocation; allocUnsafe skips zero-filling bytes that are overwritten at once.
      const size = Math.max(1, Math.min(READ_BYTES, remaining + 1));
      const piece = Buffer.allocUnsafe(size);
      const { bytesRead } = await handle.read(piece, 0, size, null);
      if (bytesRead === 0) break;
      remaining = Math.max(0, remaining - bytesRead);
      for (const chunk of chunker.push(piece.subarray(0, bytesRead))) await submit(chunk);
    }
    for (const chunk of chunker.finish()) await submit(chunk);
  } finally {
    await handle.close();
  }
  return (await Promise.all(ids)).map(toHex);
}

async function saveTree(repository: Repository, tree: Tree): Promise<string> {
  const { id } = await repository.saveBlob('tree', encodeTree(tree));
  return toHex(id);
}

async function loadTree(repository: Repository, treeId: string): Promise<Map<string, TreeNode>> {
  const tree = decodeTree(await repository.loadBlob('tree', fromHex(treeId)), `tree ${treeId}`);
  return new Map(tree.nodes.map((node) => [node.name, node]));
}

/** Errors from the operating system (EACCES, EIO, ENOENT…) make a file unreadable; anything else stops the backup. */
function isFileSystemError(error: unknown): boolean {
  if (!(error instanceof Error) || error instanceof CofferError || !('code' in error)) return false;
  return typeof error.code === 'string' && /^E[A-Z0-9]+$/.test(error.code);
}

function describe(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error) return `${String(error.code)}: ${error instanceof Error ? error.message : ''}`;
  return String(error);
}
