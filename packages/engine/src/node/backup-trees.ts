/**
 * The directory trees of a backup, saved bottom-up as the files below them are stored, instead
 * of all at the end. A directory's tree is saved once each of its files is stored (or proved
 * unreadable) and each of its subdirectories is saved; its files are looked at again then (did
 * any change while being read? sqlite-live.ts). After that nothing needs the directory's
 * planned entries, the files' jobs or their nodes, so they are freed as the backup goes: with
 * every node held to the end, memory grew with the number of files (measured on 50,000 files
 * of 100 B–3 KB: the main thread's live heap grew by ≈30 MB, the process peaked at 225–245 MiB).
 *
 * The tree blobs are the same whatever the order they are saved in; the data they name is
 * durable before the snapshot is, since backup() flushes the pack pipeline first.
 */
import { toHex } from '@coffer/core';
import type { Repository } from '../repo/repository.ts';
import { type Tree, type TreeNode, encodeTree } from '../repo/tree.ts';
import type { SqliteLayout } from '../chunker/sqlite.ts';
import { type DirEntry, type FileJob, type PlannedEntry, type StatMode, type Unreadable, statAll } from './backup-walk.ts';
import { changeWarning, journalBytes } from './sqlite-live.ts';

interface Dir {
  readonly planned: DirEntry;
  /** Undefined for the top, which holds the backup's sources and is not saved here. */
  readonly parent: Dir | undefined;
  /** Files and subdirectories not yet done. */
  pending: number;
  /** Files read and stored, to look at again when the directory is saved. */
  read: { readonly job: FileJob; readonly layout: SqliteLayout | undefined }[];
  node?: TreeNode;
}

/** lstat calls per statAll when a directory's files are looked at again: their results are held until then. */
const CHECK_BATCH = 1024;

export class BackupTrees {
  readonly #repository: Repository;
  readonly #stat: StatMode | undefined;
  readonly #warnings: Unreadable[];
  readonly #dirOfFile = new Map<FileJob, Dir>();
  readonly #dirs = new Map<DirEntry, Dir>();
  readonly #saving = new Set<Promise<void>>();
  #failure: { error: unknown } | undefined;
  #done: { nodes: TreeNode[] } | undefined;

  /** Directories with nothing to read are saved at once. `warnings` receives the files that changed while read. */
  constructor(repository: Repository, roots: PlannedEntry[], stat: StatMode | undefined, warnings: Unreadable[]) {
    this.#repository = repository;
    this.#stat = stat;
    this.#warnings = warnings;
    this.#plan({ kind: 'dir', name: '', mode: 0, mtime: '0', entries: roots }, undefined);
  }

  /** A file is done: stored (its job's node is set; `layout` as the chunker saw it), or unreadable (`read` false). */
  fileDone(job: FileJob, read: boolean, layout?: SqliteLayout): void {
    const dir = this.#dirOfFile.get(job);
    if (!dir) return;
    this.#dirOfFile.delete(job);
    if (read) dir.read.push({ job, layout });
    this.#childDone(dir);
  }

  /** The sources' nodes, once every directory is saved; throws the first failure. */
  async roots(): Promise<TreeNode[]> {
    await this.settle();
    if (this.#failure) throw this.#failure.error;
    if (!this.#done) throw new Error(`${String(this.#dirOfFile.size)} files were never reported done`);
    return this.#done.nodes;
  }

  /** Waits for every save under way, failed or not. */
  async settle(): Promise<void> {
    while (this.#saving.size > 0) await Promise.allSettled(this.#saving);
  }

  #plan(planned: DirEntry, parent: Dir | undefined): Dir {
    const dir: Dir = { planned, parent, pending: planned.entries.length, read: [] };
    for (const entry of planned.entries) {
      if (entry.kind === 'file') this.#dirOfFile.set(entry.job, dir);
      else if (entry.kind === 'dir') this.#dirs.set(entry, this.#plan(entry, dir));
      else dir.pending--;
    }
    if (dir.pending === 0) this.#save(dir);
    return dir;
  }

  #childDone(dir: Dir): void {
    dir.pending--;
    if (dir.pending === 0) this.#save(dir);
  }

  #save(dir: Dir): void {
    const saving = this.#saveNow(dir).catch((error: unknown) => {
      this.#failure ??= { error };
    });
    this.#saving.add(saving);
    void saving.finally(() => this.#saving.delete(saving));
  }

  async #saveNow(dir: Dir): Promise<void> {
    await this.#check(dir.read);
    dir.read = [];
    const nodes: TreeNode[] = [];
    for (const entry of dir.planned.entries) {
      const node = entry.kind === 'node' ? entry.node : entry.kind === 'file' ? entry.job.node : this.#takeDir(entry);
      if (node) nodes.push(node);
    }
    dir.planned.entries = [];
    if (!dir.parent) {
      this.#done = { nodes };
      return;
    }
    const { name, mode, mtime } = dir.planned;
    dir.node = { name, type: 'dir', mode, mtime, subtree: await saveTree(this.#repository, { nodes }) };
    this.#childDone(dir.parent);
  }

  #takeDir(entry: DirEntry): TreeNode | undefined {
    const dir = this.#dirs.get(entry);
    this.#dirs.delete(entry);
    return dir?.node;
  }

  /** Warns of every file read that changed meanwhile. The lstat calls go as the walk's do (statAll): synchronously while they are fast, which they are for a file just read. */
  async #check(files: readonly { readonly job: FileJob; readonly layout: SqliteLayout | undefined }[]): Promise<void> {
    for (let from = 0; from < files.length; from += CHECK_BATCH) {
      const batch = files.slice(from, from + CHECK_BATCH);
      const infos = await statAll(batch.map(({ job }) => job.path), this.#stat);
      for (const [i, { job, layout }] of batch.entries()) {
        const now = infos[i];
        const journal = layout?.kind === 'database' ? await journalBytes(job, layout) : 0;
        const message = changeWarning(job, layout, now instanceof Error ? undefined : now, journal);
        if (message !== undefined) this.#warnings.push({ path: job.path, message });
      }
    }
  }
}

export async function saveTree(repository: Repository, tree: Tree): Promise<string> {
  const { id } = await repository.saveBlob('tree', encodeTree(tree));
  return toHex(id);
}
