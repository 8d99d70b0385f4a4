/**
 * The files of a restore while their blobs arrive, in whatever order the packs give them. Each
 * file is written to a temporary name beside its destination, with positional writes of
 * verified plaintext only, and renamed once every byte is written: a damaged or missing blob
 * leaves no file, and never unverified bytes, under the file's name.
 *
 * Restored files are not fsynced one by one (restic does not either): a crash during a restore
 * loses what the kernel had not written back yet, and the restore is run again. What a restore
 * guarantees is about content, not durability: what is under a file's name is verified.
 *
 * At most MAX_OPEN files are open at once; a file whose blobs come in many packs is closed in
 * between and opened again. A file that needs a descriptor while MAX_OPEN are open and busy waits
 * for one. Before, a range of small files (a thumbnail cache: a thousand files in 2 MiB) opened
 * them all at once, and every open scanned thousands of handles for one to close: 50,000 files
 * of 100 B–3 KB restored in 9.8 s with a peak of 417 MiB, now in 7.2–7.9 s with 287–365 MiB, or
 * 229–247 MiB with the launcher's GC setting (bin/coffer.js). Most of the rest is the plan of
 * 50,000 files; restic needs 97 MiB.
 */
import { randomBytes } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { lstat, open, rename, rm, utimes } from 'node:fs/promises';
import { fail } from '@coffer/core';
import { dirname, join } from 'node:path';
import type { TreeNode } from '../repo/tree.ts';
import { writeFully } from './local-fs.ts';

const MAX_OPEN = 64;

export interface RestoreTarget {
  /** The file's path in the snapshot, for reports. */
  readonly path: string;
  readonly destination: string;
  readonly node: TreeNode;
}

interface State {
  readonly target: RestoreTarget;
  readonly size: number;
  temporary?: string;
  handle?: Promise<FileHandle>;
  written: number;
  writing: number;
  failure?: string;
  done: boolean;
  /** Between the last write and the rename: its handle must stay open (chmod). */
  finishing: boolean;
}

export class RestoreFiles {
  readonly #files: State[];
  readonly #root: string;
  readonly #onDone: (target: RestoreTarget) => void;
  /** Open handles, least recently used first. */
  readonly #open = new Map<number, Promise<FileHandle>>();
  /** Directories checked not to be symlinks (or being checked: files in one directory start together). */
  readonly #checked = new Map<string, Promise<void>>();
  /** Files waiting for a descriptor (see MAX_OPEN). */
  readonly #slotWaiters: (() => void)[] = [];
  readonly #finishing = new Set<Promise<void>>();
  /**
   * Temporary names are this run's random tag and a count: unique, and not guessable before the
   * run starts, with one call to the CSPRNG per restore instead of one per file (≈8 µs each here).
   */
  readonly #runTag = randomBytes(8).toString('hex');
  #temporaries = 0;

  constructor(root: string, targets: readonly RestoreTarget[], onDone: (target: RestoreTarget) => void) {
    this.#root = root;
    this.#files = targets.map((target) => ({ target, size: target.node.size ?? 0, written: 0, writing: 0, done: false, finishing: false }));
    this.#onDone = onDone;
  }

  failed(file: number): boolean {
    return this.#files[file]?.failure !== undefined;
  }

  /** Writes verified plaintext at `position` of file `file`. */
  async write(file: number, bytes: Uint8Array, position: number): Promise<void> {
    const state = this.#state(file);
    if (state.failure !== undefined || state.done) return;
    state.writing++;
    try {
      await writeFully(await this.#handle(file, state), bytes, position);
      state.written += bytes.length;
    } catch (error) {
      this.fail(file, describe(error));
    } finally {
      state.writing--;
      // It may be closed now, to make room.
      if (state.writing === 0) this.#wakeSlotWaiter();
    }
    if (complete(state)) this.#finish(file, state);
  }

  /** Starts the files that need no blob at all (empty files). */
  startEmpty(): void {
    for (const [file, state] of this.#files.entries()) if (state.size === 0) this.#finish(file, state);
  }

  /** Marks a file failed; its temporary file is removed at close(). */
  fail(file: number, message: string): void {
    const state = this.#state(file);
    if (state.done) return;
    state.failure ??= message;
  }

  /** Waits for the last renames, removes what failed; returns the failures, by file. */
  async close(): Promise<{ path: string; message: string }[]> {
    while (this.#finishing.size > 0) await Promise.all(this.#finishing);
    const failures: { path: string; message: string }[] = [];
    for (const [file, state] of this.#files.entries()) {
      if (state.done) continue;
      failures.push({ path: state.target.path, message: state.failure ?? `E_INTEGRITY: restored ${String(state.written)} bytes, the snapshot says ${String(state.size)}` });
      await this.#close(file);
      if (state.temporary !== undefined) await rm(state.temporary, { force: true });
    }
    return failures;
  }

  #state(file: number): State {
    const state = this.#files[file];
    if (!state) throw new Error(`no file ${String(file)}`);
    return state;
  }

  async #handle(file: number, state: State): Promise<FileHandle> {
    const open = this.#open.get(file);
    if (open) {
      this.#open.delete(file);
      this.#open.set(file, open);
      return open;
    }
    while (this.#open.size >= MAX_OPEN && !this.#closeIdle(file)) {
      await new Promise<void>((resolve) => this.#slotWaiters.push(resolve));
      // Another write opened this file meanwhile: the room this wake announced is someone else's.
      const opened = this.#open.get(file);
      if (opened) {
        this.#wakeSlotWaiter();
        return opened;
      }
    }
    const handle = this.#openFile(state);
    this.#open.set(file, handle);
    return handle;
  }

  /** Closes the least recently used file that nothing is writing or finishing; false if every open file is busy. */
  #closeIdle(except: number): boolean {
    for (const other of this.#open.keys()) {
      const state = this.#files[other];
      if (other === except || (state?.writing ?? 0) > 0 || state?.finishing) continue;
      void this.#close(other);
      return true;
    }
    return false;
  }

  /** One file's worth of room appeared (a close, or a file gone idle): the longest waiter looks. */
  #wakeSlotWaiter(): void {
    this.#slotWaiters.shift()?.();
  }

  async #openFile(state: State): Promise<FileHandle> {
    if (state.temporary !== undefined) return open(state.temporary, 'r+');
    await this.#refuseSymlinkedParent(state.target.path);
    state.temporary = join(dirname(state.target.destination), `.coffer-restore-${this.#runTag}-${String(this.#temporaries++)}`);
    return open(state.temporary, 'wx', 0o600);
  }

  async #close(file: number): Promise<void> {
    const handle = this.#open.get(file);
    this.#open.delete(file);
    if (handle) this.#wakeSlotWaiter();
    await (await handle?.catch(() => undefined))?.close().catch(() => undefined);
  }

  #finish(file: number, state: State): void {
    state.done = true;
    state.finishing = true;
    const work = (async () => {
      const node = state.target.node;
      const handle = await this.#handle(file, state);
      await handle.chmod(node.mode);
      state.finishing = false;
      await this.#close(file);
      const time = nsToSeconds(node.mtime);
      await utimes(state.temporary as string, time, time);
      await rename(state.temporary as string, state.target.destination);
      this.#onDone(state.target);
    })().catch(async (error: unknown) => {
      state.done = false;
      state.finishing = false;
      state.failure ??= describe(error);
      await this.#close(file);
    });
    this.#finishing.add(work);
    void work.finally(() => this.#finishing.delete(work));
  }

  #refuseSymlinkedParent(path: string): Promise<void> {
    return refuseSymlinkedParent(this.#root, path, this.#checked);
  }
}

/**
 * A symlink planted in the target must not redirect a restore outside it. `checked` remembers
 * the check of each directory, done or under way, so that the files of one directory, which
 * start together, share one lstat instead of one each.
 */
export async function refuseSymlinkedParent(root: string, path: string, checked = new Map<string, Promise<void>>()): Promise<void> {
  for (const dir of parentsOf(root, path)) {
    let check = checked.get(dir);
    if (!check) {
      check = lstat(dir).then((info) => {
        if (info.isSymbolicLink()) fail('E_INVALID_ARGUMENT', `${dir} is a symbolic link; refusing to restore through it`);
      });
      checked.set(dir, check);
    }
    await check;
  }
}

/** The directories under `root` that hold `path` (a snapshot path like /dir/file), outermost first. */
function parentsOf(root: string, path: string): string[] {
  const dirs: string[] = [];
  let current = root;
  for (const part of path.split('/').filter(Boolean).slice(0, -1)) {
    current = join(current, part);
    dirs.push(current);
  }
  return dirs;
}

/** Every byte written, nothing pending, nothing failed, not finished yet. (A function: the state changes across awaits.) */
function complete(state: State): boolean {
  return state.written === state.size && state.writing === 0 && state.failure === undefined && !state.done;
}

function describe(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' ? `${code}: ${message}` : message;
}

/**
 * utimes takes seconds as a double and truncates to whole microseconds; half a
 * microsecond more makes the double round to the intended microsecond.
 */
export function nsToSeconds(ns: string): number {
  return (Number(BigInt(ns) / 1000n) + 0.5) / 1e6;
}

