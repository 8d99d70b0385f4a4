/** Reading a snapshot's directory trees (for ls and diff); every tree blob is verified as it loads. */
import { fromHex } from '@coffer/core';
import { type Repository, type TreeNode, decodeTree } from '@coffer/engine';

export interface Entry {
  /** `/source/dir/file`: the snapshot's root is `/`. */
  readonly path: string;
  readonly node: TreeNode;
}

export async function loadNodes(repository: Repository, treeId: string): Promise<readonly TreeNode[]> {
  return decodeTree(await repository.loadBlob('tree', fromHex(treeId)), `tree ${treeId}`).nodes;
}

/** Every entry under `treeId`, depth first, a directory before what it holds. */
export async function* walkTree(repository: Repository, treeId: string, prefix = ''): AsyncGenerator<Entry> {
  for (const node of await loadNodes(repository, treeId)) {
    const path = `${prefix}/${node.name}`;
    yield { path, node };
    if (node.type === 'dir' && node.subtree !== undefined) yield* walkTree(repository, node.subtree, path);
  }
}

/** restic's diff markers: added, removed, content modified, type changed, metadata (mode, mtime) updated. */
export type ChangeKind = '+' | '-' | 'M' | 'T' | 'U';

export interface Change {
  readonly kind: ChangeKind;
  readonly path: string;
  readonly type: TreeNode['type'];
}

/** Differences between two trees; identical subtrees (same id) are skipped without loading them. */
export async function diffTrees(repository: Repository, before: string | undefined, after: string | undefined, prefix = ''): Promise<Change[]> {
  if (before === after) return [];
  const changes: Change[] = [];
  const a = new Map((before === undefined ? [] : await loadNodes(repository, before)).map((n) => [n.name, n]));
  const b = new Map((after === undefined ? [] : await loadNodes(repository, after)).map((n) => [n.name, n]));
  const names = [...new Set([...a.keys(), ...b.keys()])].sort();
  for (const name of names) {
    const path = `${prefix}/${name}`;
    const was = a.get(name);
    const now = b.get(name);
    if (was === undefined && now !== undefined) {
      changes.push({ kind: '+', path, type: now.type });
      if (now.type === 'dir') changes.push(...(await diffTrees(repository, undefined, now.subtree, path)));
    } else if (was !== undefined && now === undefined) {
      changes.push({ kind: '-', path, type: was.type });
      if (was.type === 'dir') changes.push(...(await diffTrees(repository, was.subtree, undefined, path)));
    } else if (was !== undefined && now !== undefined) {
      if (was.type !== now.type) {
        changes.push({ kind: 'T', path, type: now.type });
        changes.push(...(await diffTrees(repository, was.type === 'dir' ? was.subtree : undefined, now.type === 'dir' ? now.subtree : undefined, path)));
      } else if (now.type === 'dir') {
        changes.push(...(await diffTrees(repository, was.subtree, now.subtree, path)));
      } else if (contentDiffers(was, now)) {
        changes.push({ kind: 'M', path, type: now.type });
      } else if (was.mode !== now.mode || was.mtime !== now.mtime) {
        changes.push({ kind: 'U', path, type: now.type });
      }
    }
  }
  return changes;
}

function contentDiffers(a: TreeNode, b: TreeNode): boolean {
  if (a.type === 'symlink') return a.target !== b.target;
  // A content list's root id covers all of its content, as inline ids do.
  return a.size !== b.size || a.contentList !== b.contentList || (a.content ?? []).join() !== (b.content ?? []).join();
}
