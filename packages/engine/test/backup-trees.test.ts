/**
 * Directory trees saved as a backup goes (backup-trees.ts): a directory is saved, and what it
 * held let go, as soon as everything below it is done — not at the end — whatever order its
 * files finish in; unreadable files are left out, and files that changed since the walk warned of.
 */
import { lstat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { Repository } from '../src/repo/repository.ts';
import type { TreeNode } from '../src/repo/tree.ts';
import { BackupTrees } from '../src/node/backup-trees.ts';
import { type DirEntry, type FileJob, type PlannedEntry, type Unreadable, loadTree, statMode } from '../src/node/backup-walk.ts';
import { MemoryStorage } from '../src/storage/memory.ts';
import { first, params, tempDirPerTest } from './fixtures.ts';

const dir = tempDirPerTest('coffer-backup-trees-');

async function fileJob(name: string, contents = name): Promise<FileJob> {
  const path = join(dir.path, name);
  await writeFile(path, contents);
  const info = await lstat(path, { bigint: true });
  return { path, name, mode: 0o644, mtime: String(info.mtimeNs), size: Number(info.size) };
}

function stored(job: FileJob): void {
  job.node = { name: job.name, type: 'file', mode: job.mode, mtime: job.mtime, size: job.size, content: ['ab'.repeat(32)] };
}

function dirEntry(name: string, entries: PlannedEntry[]): DirEntry {
  return { kind: 'dir', name, mode: 0o755, mtime: '1', entries };
}

/** Lets pending saves run (each is a few promise steps; a tree blob is saved without I/O here). */
async function settleSoon(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 20));
}

describe('backup trees', () => {
  test('each directory is saved once everything below it is done, in any order, and its entries are let go', async () => {
    const repository = await Repository.init(new MemoryStorage(), first, { params });
    const [a1, a2, a3, b1] = await Promise.all(['a1', 'a2', 'a3', 'b1'].map((n) => fileJob(n)));
    if (!a1 || !a2 || !a3 || !b1) throw new Error('setup');
    const kept: TreeNode = { name: 'unchanged', type: 'file', mode: 0o644, mtime: '5', size: 1, content: ['cd'.repeat(32)] };
    const sub = dirEntry('sub', [{ kind: 'file', job: a3 }]);
    const a = dirEntry('a', [{ kind: 'file', job: a1 }, { kind: 'file', job: a2 }, sub, { kind: 'node', node: kept }]);
    const b = dirEntry('b', [{ kind: 'file', job: b1 }]);
    const empty = dirEntry('empty', []);
    const warnings: Unreadable[] = [];
    const trees = new BackupTrees(repository, [a, b, empty], statMode(), warnings);

    await settleSoon();
    expect(empty.entries).toEqual([]); // nothing to wait for: saved at once
    stored(a3);
    trees.fileDone(a3, true);
    stored(a1);
    trees.fileDone(a1, true);
    await settleSoon();
    expect(sub.entries).toEqual([]);
    expect(a.entries.length).toBe(4); // a2 is still being read
    trees.fileDone(a2, false); // unreadable: left out
    await settleSoon();
    expect(a.entries).toEqual([]);
    expect(b.entries.length).toBe(1);
    stored(b1);
    trees.fileDone(b1, true);

    const roots = await trees.roots();
    await repository.flush();
    expect(roots.map((n) => n.name)).toEqual(['a', 'b', 'empty']);
    const aTree = await loadTree(repository, roots[0]?.subtree ?? '');
    expect([...aTree.keys()]).toEqual(['a1', 'sub', 'unchanged']);
    expect(aTree.get('unchanged')).toEqual(kept);
    expect([...(await loadTree(repository, aTree.get('sub')?.subtree ?? '')).keys()]).toEqual(['a3']);
    expect([...(await loadTree(repository, roots[2]?.subtree ?? '')).keys()]).toEqual([]);
    expect(warnings).toEqual([]);
  });

  test('a file that changed after it was read is warned of when its directory is saved', async () => {
    const repository = await Repository.init(new MemoryStorage(), first, { params });
    const changed = await fileJob('changed', 'before');
    const same = await fileJob('same');
    const warnings: Unreadable[] = [];
    const trees = new BackupTrees(repository, [dirEntry('d', [{ kind: 'file', job: changed }, { kind: 'file', job: same }])], statMode(), warnings);
    await writeFile(changed.path, 'after, and longer');
    for (const job of [changed, same]) {
      stored(job);
      trees.fileDone(job, true);
    }
    expect((await trees.roots()).map((n) => n.name)).toEqual(['d']);
    expect(warnings.map((w) => w.path)).toEqual([changed.path]);
    expect(warnings[0]?.message).toMatch(/^changed while it was being backed up/);
  });

  test('a source that is a file is a root node of its own', async () => {
    const repository = await Repository.init(new MemoryStorage(), first, { params });
    const single = await fileJob('single');
    const trees = new BackupTrees(repository, [{ kind: 'file', job: single }], statMode(), []);
    stored(single);
    trees.fileDone(single, true);
    expect((await trees.roots()).map((n) => [n.name, n.type])).toEqual([['single', 'file']]);
  });
});
