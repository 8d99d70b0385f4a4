/**
 * `check` (format.md §9.10): verifies the repository's structure and, with
 * `readData`, every blob's content. It collects every problem, each naming the
 * damaged object, instead of stopping at the first.
 */
import { CofferError, fromHex } from '@coffer/core';
import { type BlobType, blobKey } from './blob.ts';
import { packId, packName, readPackHeader } from './pack.ts';
import type { Repository } from './repository.ts';
import { decodeTree } from './tree.ts';
import { expandContentList } from './content-list.ts';

export interface CheckProblem {
  /** The object concerned: a storage name or a blob description. */
  readonly object: string;
  readonly message: string;
  /**
   * "error": damage or a missing object. "note": harmless leftovers, such as packs
   * no index lists after an interrupted backup (prune removes them).
   */
  readonly severity: 'error' | 'note';
}

export interface CheckReport {
  readonly problems: CheckProblem[];
  readonly snapshots: number;
  readonly trees: number;
  readonly packs: number;
  readonly blobsRead: number;
}

export interface CheckOptions {
  readonly readData?: boolean;
  readonly onProgress?: (done: number, total: number) => void;
}

function describe(error: unknown): string {
  return error instanceof CofferError ? `${error.code}: ${error.message}` : String(error);
}

export async function checkRepository(repository: Repository, options: CheckOptions = {}): Promise<CheckReport> {
  const problems: CheckProblem[] = [];
  const storagePacks = new Map<string, number>();
  for await (const object of repository.storage.list('data/')) storagePacks.set(object.name, object.size);

  // Every indexed pack must exist with at least the bytes its blobs occupy.
  for (const pack of repository.index.packs) {
    const name = packName(pack.id);
    const size = storagePacks.get(name);
    const last = pack.entries.at(-1);
    if (size === undefined) problems.push({ object: name, message: 'pack listed in the index is missing', severity: 'error' });
    else if (last && size < last.offset + last.length) problems.push({ object: name, message: `pack is ${String(size)} bytes, shorter than its blobs`, severity: 'error' });
  }
  for (const name of storagePacks.keys()) {
    if (!repository.index.pack(name.slice(name.lastIndexOf('/') + 1))) problems.push({ object: name, message: 'pack not referenced by any index (left by an interrupted run; prune removes it)', severity: 'note' });
  }

  // Every snapshot must open, every tree must load, every referenced blob must be indexed.
  let snapshots: Awaited<ReturnType<Repository['snapshots']>> = [];
  try {
    snapshots = await repository.snapshots();
  } catch (error) {
    problems.push({ object: 'snapshots/', message: describe(error), severity: 'error' });
  }
  const seenTrees = new Set<string>();
  const missing = (type: BlobType, id: string): boolean => !repository.index.has(type, fromHex(id));
  // A file's content list: every list must be indexed and open, every data blob it names indexed.
  const seenLists = new Set<string>();
  const walkContentList = async (rootId: string, path: string): Promise<void> => {
    let lost: string | undefined;
    const enter = (listId: string): boolean => {
      if (seenLists.has(listId)) return false;
      seenLists.add(listId);
      if (missing('tree', listId)) lost ??= listId;
      return lost === undefined;
    };
    try {
      const ids = await expandContentList(repository, rootId, { enter });
      if (lost !== undefined) problems.push({ object: `tree blob ${lost}`, message: `content list of ${path} is not in the index`, severity: 'error' });
      for (const id of ids) if (missing('data', id)) problems.push({ object: `data blob ${id}`, message: `content of ${path} is not in the index`, severity: 'error' });
    } catch (error) {
      problems.push({ object: `content list ${rootId}`, message: `${path}: ${describe(error)}`, severity: 'error' });
    }
  };
  const walk = async (treeId: string, path: string): Promise<void> => {
    if (seenTrees.has(treeId)) return;
    seenTrees.add(treeId);
    if (missing('tree', treeId)) {
      problems.push({ object: `tree ${treeId}`, message: `tree of ${path} is not in the index`, severity: 'error' });
      return;
    }
    try {
      const tree = decodeTree(await repository.loadBlob('tree', fromHex(treeId)), `tree ${treeId}`);
      for (const node of tree.nodes) {
        const child = `${path}/${node.name}`;
        if (node.type === 'dir' && node.subtree) await walk(node.subtree, child);
        for (const id of node.content ?? []) if (missing('data', id)) problems.push({ object: `data blob ${id}`, message: `content of ${child} is not in the index`, severity: 'error' });
        if (node.contentList !== undefined) await walkContentList(node.contentList, child);
      }
    } catch (error) {
      problems.push({ object: `tree ${treeId}`, message: describe(error), severity: 'error' });
    }
  };
  for (const s of snapshots) await walk(s.snapshot.tree, `snapshot ${s.id.slice(0, 8)}`);

  let blobsRead = 0;
  if (options.readData) {
    const packs = [...repository.index.packs];
    let done = 0;
    for (const pack of packs) {
      const name = packName(pack.id);
      options.onProgress?.(done++, packs.length);
      if (!storagePacks.has(name)) continue;
      try {
        const bytes = await repository.storage.get(name);
        if ((await packId(bytes, pack.id, repository.bulk)) !== pack.id) problems.push({ object: name, message: 'pack content does not match its name (damaged)', severity: 'error' });
        const header = await readPackHeader(repository.keys.blobEncryption, bytes, pack.id, repository.bulk);
        const indexed = new Set(pack.entries.map((e) => `${blobKey(e.type, e.id)}@${String(e.offset)}+${String(e.length)}`));
        const inPack = new Set(header.entries.map((e) => `${blobKey(e.type, e.id)}@${String(e.offset)}+${String(e.length)}`));
        if (indexed.size !== inPack.size || [...indexed].some((e) => !inPack.has(e))) problems.push({ object: name, message: 'pack header and index disagree', severity: 'error' });
        for (const entry of pack.entries) {
          try {
            await repository.openBlob(pack.id, pack.salt, entry, bytes.subarray(entry.offset, entry.offset + entry.length));
            blobsRead++;
          } catch (error) {
            problems.push({ object: name, message: describe(error), severity: 'error' });
          }
        }
      } catch (error) {
        problems.push({ object: name, message: describe(error), severity: 'error' });
      }
    }
    options.onProgress?.(packs.length, packs.length);
  }
  return { problems, snapshots: snapshots.length, trees: seenTrees.size, packs: repository.index.packCount, blobsRead };
}
