/**
 * Restores a snapshot into a directory. Every blob is authenticated and checked
 * against its id before a byte of it is written, and a file is written to a
 * temporary name and renamed only once all of it verified: a damaged object
 * never leaves unverified plaintext in the target, only an error naming it.
 *
 * The data is read pack by pack rather than file by file (restore-plan.ts): each
 * range of a pack is read once, decrypted and verified by the pack workers in
 * shared memory, and written to every place that needs it (restore-data.ts).
 */
import { chmod, lutimes, mkdir, rm, stat, symlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { CofferError, LABELS, fail, fromHex } from '@coffer/core';
import { MAX_PACK_ENTRIES } from '../repo/pack.ts';
import type { Repository } from '../repo/repository.ts';
import type { StoredSnapshot } from '../repo/snapshot.ts';
import { type TreeNode, decodeTree } from '../repo/tree.ts';
import { fileContentIds } from '../repo/content-list.ts';
import { PackWorkers, restoreWorkers } from './pack-workers.ts';
import { compileIncludes } from './patterns.ts';
import { restoreData } from './restore-data.ts';
import { type RestoreTarget, RestoreFiles, nsToSeconds, refuseSymlinkedParent } from './restore-files.ts';
import { ReadPlanner } from './restore-plan.ts';
import { SharedRing } from './shared-ring.ts';

/** Bytes of a pack read at once, at most (a larger blob is read alone). */
const RANGE_BYTES = 2 * 1024 * 1024;
/** Room for the ranges in flight (restore-data.ts): each needs its frames and their plaintexts. */
const RING_BYTES = 24 * 1024 * 1024;

export interface RestoreOptions {
  /** Patterns (restic style: `*`, `?`, `**`) on paths like `/dir/file`; a matching directory brings all it holds. */
  readonly include?: readonly string[];
  readonly onProgress?: (progress: RestoreProgress) => void;
  /** Worker threads that decrypt and verify (default: one per core but one, at most four). */
  readonly workers?: number;
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
  repository.forgetReads();
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

  const fileNodes = plan.filter((p) => p.node.type === 'file');
  const progress = { files: 0, bytes: 0, totalFiles: fileNodes.length, totalBytes: fileNodes.reduce((n, f) => n + (f.node.size ?? 0), 0) };
  const failures: RestoreFailure[] = [];
  const existing = await stat(target).catch(() => undefined);
  if (existing && !existing.isDirectory()) fail('E_INVALID_ARGUMENT', `the target ${target} exists and is not a directory`);
  await mkdir(target, { recursive: true });
  for (const { path, node } of plan) {
    if (node.type === 'dir') await mkdir(join(target, path), { recursive: true });
  }

  // Each file's blob ids, planned one file at a time; a file whose content list cannot be read fails on its own.
  const targets: RestoreTarget[] = [];
  const planner = new ReadPlanner(repository);
  for (const { path, node } of fileNodes) {
    try {
      planner.add(targets.length, await fileContentIds(repository, node));
      targets.push({ path, destination: join(target, path), node });
    } catch (error) {
      failures.push({ path, message: describe(error) });
    }
  }
  const files = new RestoreFiles(target, targets, () => {
    progress.files++;
    options.onProgress?.({ ...progress });
  });
  const { blobs, ranges, missing } = planner.finish(RANGE_BYTES);
  for (const [file, id] of missing) files.fail(file, `E_INTEGRITY: data blob ${id.slice(0, 16)} is not in the index`);
  files.startEmpty();
  if (ranges.length > 0) {
    const largest = ranges.reduce((n, r) => Math.max(n, r.end - r.start + r.plaintextBytes), 0);
    const ring = new SharedRing(Math.max(RING_BYTES, 2 * largest + 2 * RANGE_BYTES));
    const workers = new PackWorkers(
      {
        subkey: repository.keys.blobEncryption,
        idKey: repository.keys.blobId,
        labels: { pack: LABELS.packKey, blobAad: LABELS.blobAad, headerAad: LABELS.packHeaderAad, paddingAad: LABELS.packPaddingAad },
        level: null,
        packBytes: repository.packBytes,
        maxEntries: MAX_PACK_ENTRIES - 1,
        ring: ring.buffer,
      },
      options.workers ?? restoreWorkers(),
    );
    try {
      await restoreData(
        {
          repository,
          blobs,
          workers,
          ring,
          files,
          onBytes: (bytes) => {
            progress.bytes += bytes;
          },
        },
        ranges,
      );
    } finally {
      await workers.close();
    }
  }
  failures.push(...(await files.close()));

  for (const { path, node } of plan) {
    if (node.type !== 'symlink') continue;
    const destination = join(target, path);
    try {
      await refuseSymlinkedParent(target, path);
      await rm(destination, { force: true });
      await symlink(node.target ?? '', destination);
      await lutimes(destination, nsToSeconds(node.mtime), nsToSeconds(node.mtime));
    } catch (error) {
      failures.push({ path, message: describe(error) });
    }
  }
  // Directory times last and deepest first: writing into a directory changes its mtime.
  for (const { path, node } of [...plan].reverse()) {
    if (node.type !== 'dir') continue;
    await chmod(join(target, path), node.mode);
    await utimes(join(target, path), nsToSeconds(node.mtime), nsToSeconds(node.mtime));
  }
  return { ...progress, failures };
}

function describe(error: unknown): string {
  return error instanceof CofferError ? `${error.code}: ${error.message}` : String(error);
}
