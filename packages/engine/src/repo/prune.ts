/**
 * `prune` (format.md §9.11): removes packs no kept snapshot needs and repacks
 * packs that are mostly garbage. Run under an exclusive lock. The order makes
 * every interruption safe:
 *
 *   1. read every kept snapshot's trees; any error aborts before anything changes;
 *   2. copy still-used blobs out of packs to be rewritten (new packs);
 *   3. write one index file that lists every surviving pack and supersedes all
 *      current index files — durable before anything is deleted;
 *   4. delete the superseded index files, then the packs nothing references.
 *
 * A crash before 3 leaves extra packs (removed by the next prune); after 3, the
 * old index files and packs are merely garbage.
 */
import { fromHex } from '@coffer/core';
import { blobKey } from './blob.ts';
import { type IndexedPack, sealIndexFile } from './index-file.ts';
import { packName } from './pack.ts';
import type { Repository } from './repository.ts';
import { sha256Hex, type StoredSnapshot } from './snapshot.ts';
import { decodeTree } from './tree.ts';
import { expandContentList } from './content-list.ts';

export interface PruneOptions {
  /** Repack a pack when more than this fraction of its bytes is unused (restic's default is 5 %). */
  readonly maxUnused?: number;
  readonly dryRun?: boolean;
  readonly onProgress?: (message: string) => void;
}

export interface PruneReport {
  readonly packsDeleted: number;
  readonly packsRepacked: number;
  readonly blobsKept: number;
  readonly bytesFreed: number;
  readonly indexFilesReplaced: number;
}

/** Every blob reachable from `snapshots`; throws on any unreadable tree, so prune never guesses. */
export async function usedBlobs(repository: Repository, snapshots: readonly StoredSnapshot[]): Promise<Set<string>> {
  const used = new Set<string>();
  const walk = async (treeId: string): Promise<void> => {
    const key = blobKey('tree', fromHex(treeId));
    if (used.has(key)) return;
    used.add(key);
    const tree = decodeTree(await repository.loadBlob('tree', fromHex(treeId)), `tree ${treeId}`);
    for (const node of tree.nodes) {
      for (const id of node.content ?? []) used.add(blobKey('data', fromHex(id)));
      if (node.contentList !== undefined) {
        // A list seen before brought all its data with it: skip it and everything below.
        const enter = (listId: string): boolean => {
          const key = blobKey('tree', fromHex(listId));
          if (used.has(key)) return false;
          used.add(key);
          return true;
        };
        for (const id of await expandContentList(repository, node.contentList, { enter })) used.add(blobKey('data', fromHex(id)));
      }
      if (node.subtree) await walk(node.subtree);
    }
  };
  for (const s of snapshots) await walk(s.snapshot.tree);
  return used;
}

export async function prune(repository: Repository, options: PruneOptions = {}): Promise<PruneReport> {
  const maxUnused = options.maxUnused ?? 0.05;
  const snapshots = await repository.snapshots();
  const used = await usedBlobs(repository, snapshots);
  options.onProgress?.(`${plural(snapshots.length, 'snapshot references', 'snapshots reference')} ${plural(used.size, 'blob', 'blobs')}`);

  const keepWhole: IndexedPack[] = [];
  const rewrite: IndexedPack[] = [];
  const drop: IndexedPack[] = [];
  let bytesFreed = 0;
  for (const pack of repository.index.packs) {
    const live = pack.entries.filter((e) => used.has(blobKey(e.type, e.id)));
    const total = pack.entries.reduce((n, e) => n + e.length, 0);
    const unused = total - live.reduce((n, e) => n + e.length, 0);
    if (live.length === 0) drop.push(pack);
    else if (unused > total * maxUnused) rewrite.push(pack);
    else keepWhole.push(pack);
    bytesFreed += unused;
  }
  // Packs on storage that no index lists (interrupted runs) go too.
  const orphans: string[] = [];
  for await (const object of repository.storage.list('data/')) {
    if (!repository.index.pack(object.name.slice(object.name.lastIndexOf('/') + 1))) orphans.push(object.name);
  }
  const report = { packsDeleted: drop.length + rewrite.length + orphans.length, packsRepacked: rewrite.length, blobsKept: used.size, bytesFreed, indexFilesReplaced: 0 };
  if (options.dryRun) return report;

  // 2. Copy live blobs out of packs being rewritten. A blob lives on in exactly one surviving pack.
  const survivors = new Set<string>();
  for (const pack of keepWhole) for (const e of pack.entries) survivors.add(blobKey(e.type, e.id));
  const fresh = await repository.newPackSink();
  for (const pack of rewrite) {
    for (const entry of pack.entries) {
      const key = blobKey(entry.type, entry.id);
      if (!used.has(key) || survivors.has(key)) continue;
      survivors.add(key);
      await fresh.add(entry.type, await repository.loadBlob(entry.type, entry.id), entry.id);
    }
  }
  const newPacks = await fresh.finish();

  // 3. One index for everything that survives, superseding all current index files.
  const oldIndexFiles = await repository.indexFileIds();
  const bytes = await sealIndexFile(repository.keys.index, { supersedes: oldIndexFiles, packs: [...keepWhole, ...newPacks] });
  const newIndexId = await sha256Hex(bytes);
  await repository.storage.put(`index/${newIndexId}`, bytes);
  options.onProgress?.(`wrote index ${newIndexId.slice(0, 8)}; removing ${String(report.packsDeleted)} packs`);

  // 4. Only now delete.
  for (const id of oldIndexFiles) await repository.storage.delete(`index/${id}`);
  for (const pack of [...drop, ...rewrite]) await repository.storage.delete(packName(pack.id));
  for (const name of orphans) await repository.storage.delete(name);
  return { ...report, indexFilesReplaced: oldIndexFiles.length };
}

function plural(n: number, one: string, many: string): string {
  return `${String(n)} ${n === 1 ? one : many}`;
}
