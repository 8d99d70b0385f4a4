/**
 * Restores a snapshot into a directory. Every blob is authenticated and checked
 * against its id before a byte of it is written, and a file is written to a
 * temporary name and renamed only once all of it verified: a damaged object
 * never leaves unverified plaintext in the target, only an error naming it.
 */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, rename, rm, symlink, chmod, lutimes, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CofferError, fail, fromHex } from '@coffer/core';
import type { Repository } from '../repo/repository.ts';
import type { StoredSnapshot } from '../repo/snapshot.ts';
import { type TreeNode, decodeTree } from '../repo/tree.ts';
import { Limiter } from './limiter.ts';
import { compileIncludes } from './patterns.ts';

export interface RestoreOptions {
  /** Patterns (restic style: `*`, `?`, `**`) on paths like `/dir/file`; a matching directory brings all it holds. */
  readonly include?: readonly string[];
  readonly onProgress?: (progress: RestoreProgress) => void;
  /** Blobs fetched at once per file; both cores decrypt while the disk writes. */
  readonly concurrency?: number;
  /** Files restored at once. */
  readonly fileConcurrency?: number;
}

export interface RestoreProgress {
  readonly files: number;
  readonly bytes: number;
  readonly totalFiles: number;
  readonly totalBytes: number;
}

export interface RestoreFailure {
  readonly path: string;
  readonly message: string;
}

export interface RestoreReport extends RestoreProgress {
  readonly failures: RestoreFailure[];
}

interface PlannedNode {
  readonly path: string;
  readonly node: TreeNode;
}

export async function restoreSnapshot(repository: Repository, stored: StoredSnapshot, target: string, options: RestoreOptions = {}): Promise<RestoreReport> {
  const included = compileIncludes(options.include ?? []);
  const plan: PlannedNode[] = [];
  const collect = async (treeId: string, path: string, inherited: boolean): Promise<void> => {
    const tree = decodeTree(await repository.loadBlob('tree', fromHex(treeId)), `tree ${treeId}`);
    for (const node of tree.nodes) {
      const child = `${path}/${node.name}`;
      const selected = inherited || included(child);
      if (node.type === 'dir' && node.subtree) {
        const before = plan.length;
        if (selected) plan.push({ path: child, node });
        await collect(node.subtree, child, selected);
        // A directory that is not selected itself but holds selected entries is created too.
        if (!selected && plan.length > before) plan.splice(before, 0, { path: child, node });
      } else if (selected) {
        plan.push({ path: child, node });
      }
    }
  };
  await collect(stored.snapshot.tree, '', false);
  if (options.include && options.include.length > 0 && plan.length === 0) fail('E_NOT_FOUND', 'no path in the snapshot matches the include patterns');

  const files = plan.filter((p) => p.node.type === 'file');
  const progress = { files: 0, bytes: 0, totalFiles: files.length, totalBytes: files.reduce((n, f) => n + (f.node.size ?? 0), 0) };
  const failures: RestoreFailure[] = [];
  await mkdir(target, { recursive: true });
  for (const { path, node } of plan) {
    if (node.type === 'dir') await mkdir(join(target, path), { recursive: true });
  }
  const concurrency = options.concurrency ?? 4;
  const restoreEntry = async ({ path, node }: PlannedNode): Promise<void> => {
    const destination = join(target, path);
    try {
      await refuseSymlinkedParent(target, path);
      if (node.type === 'file') {
        await restoreFile(repository, node, destination, concurrency);
        progress.files++;
        progress.bytes += node.size ?? 0;
        options.onProgress?.({ ...progress });
      } else if (node.type === 'symlink') {
        await rm(destination, { force: true });
        await symlink(node.target ?? '', destination);
        await lutimes(destination, nsToDate(node.mtime), nsToDate(node.mtime));
      }
    } catch (error) {
      failures.push({ path, message: error instanceof CofferError ? `${error.code}: ${error.message}` : String(error) });
    }
  };
  // Several files at once: a chat backup is mostly small media files, where per-file system
  // calls, not bytes, set the pace. Memory stays bounded: files × blobs per file in flight.
  const fileSlots = new Limiter(options.fileConcurrency ?? 4);
  const running: Promise<void>[] = [];
  for (const entry of plan) {
    if (entry.node.type === 'dir') continue;
    const release = await fileSlots.acquire();
    running.push(restoreEntry(entry).finally(release));
  }
  await Promise.all(running);
  // Directory times last and deepest first: writing into a directory changes its mtime.
  for (const { path, node } of [...plan].reverse()) {
    if (node.type !== 'dir') continue;
    await chmod(join(target, path), node.mode);
    await utimes(join(target, path), nsToDate(node.mtime), nsToDate(node.mtime));
  }
  return { ...progress, failures };
}

async function restoreFile(repository: Repository, node: TreeNode, destination: string, concurrency: number): Promise<void> {
  const content = node.content ?? [];
  const temporary = join(dirname(destination), `.coffer-restore-${randomBytes(6).toString('hex')}`);
  const handle = await open(temporary, 'wx', 0o600);
  let complete = false;
  try {
    // Fetch ahead up to `concurrency` blobs while writing in order.
    const inFlight: Promise<Uint8Array>[] = [];
    let next = 0;
    const fill = (): void => {
      while (next < content.length && inFlight.length < concurrency) {
        const blob = repository.loadBlob('data', fromHex(content[next++] ?? ''));
        // Awaited in order below; if an earlier blob fails, later ones are abandoned, not unhandled.
        blob.catch(() => undefined);
        inFlight.push(blob);
      }
    };
    fill();
    let written = 0;
    while (inFlight.length > 0) {
      const blob = await (inFlight.shift() as Promise<Uint8Array>);
      fill();
      await handle.write(blob);
      written += blob.length;
    }
    if (written !== node.size) fail('E_INTEGRITY', `restored ${String(written)} bytes, the snapshot says ${String(node.size)}`);
    await handle.chmod(node.mode);
    await handle.close();
    await utimes(temporary, nsToDate(node.mtime), nsToDate(node.mtime));
    await rename(temporary, destination);
    complete = true;
  } finally {
    if (!complete) {
      await handle.close().catch(() => undefined);
      await rm(temporary, { force: true });
    }
  }
}

/** A symlink planted in the target must not redirect a restore outside it. */
async function refuseSymlinkedParent(target: string, path: string): Promise<void> {
  const parts = path.split('/').filter(Boolean).slice(0, -1);
  let current = target;
  for (const part of parts) {
    current = join(current, part);
    const info = await lstat(current);
    if (info.isSymbolicLink()) fail('E_INVALID_ARGUMENT', `${current} is a symbolic link; refusing to restore through it`);
  }
}

/**
 * utimes takes seconds as a double and truncates to whole microseconds; half a
 * microsecond more makes the double round to the intended microsecond.
 */
function nsToDate(ns: string): number {
  return (Number(BigInt(ns) / 1000n) + 0.5) / 1e6;
}
