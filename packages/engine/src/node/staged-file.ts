/**
 * A pack written to the local filesystem as it is built (repo/pack-upload.ts): a temp file,
 * appended to; commit is `put`'s second half — fsync, link to the final name (create-only),
 * fsync its directory, drop the temp name.
 *
 * The temp file is opened with O_DIRECT where the filesystem allows it, and aligned writes go
 * straight from shared memory to the disk: on the VM measured, copying a gigabyte of packs into
 * freshly allocated page cache cost two seconds of CPU, and the fsync after it waited for the
 * same bytes to be written back; direct writes cost neither. A write that cannot be direct (not
 * aligned, or a filesystem such as tmpfs without O_DIRECT) goes through the page cache as usual.
 * So does everything after a direct write the filesystem refuses (EINVAL: it wants another
 * alignment than 4 KiB, as ZFS may on a kernel with 64 KiB pages).
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fail } from '@coffer/core';
import type { StagedObject } from '../repo/pack-upload.ts';
import { errnoCode } from './local-errors.ts';
import { type LocalFs, writeFully } from './local-fs.ts';
import { ALIGN, alignUp } from './shared-ring.ts';

export interface StagingHost {
  readonly fs: LocalFs;
  attempt<T>(what: string, op: (attempt: number) => Promise<T>): Promise<T>;
  ensureDir(dir: string): Promise<void>;
  syncDir(dir: string): Promise<void>;
  /** The file of an object name. */
  path(name: string): string;
}

export async function openStagedFile(host: StagingHost, dir: string, what: string): Promise<StagedObject> {
  const temp = join(dir, `.pack.~tmp-${randomBytes(8).toString('hex')}`);
  const create = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL;
  const handle = await host.attempt(what, async () => {
    try {
      return { handle: await host.fs.open(temp, create | constants.O_DIRECT, 0o600), direct: true };
    } catch (error) {
      // EINVAL: this filesystem has no direct I/O (ramfs; tmpfs before Linux 6.6; some FUSE and
      // network filesystems). Linux refuses the flag only after it has created the file, so the
      // temp file may exist now, empty: open it without O_EXCL. The name is ours (64 random
      // bits, made an instant ago); O_NOFOLLOW still refuses a symlink planted under it.
      if (errnoCode(error) !== 'EINVAL') throw error;
      const reopen = (create & ~constants.O_EXCL) | constants.O_TRUNC | constants.O_NOFOLLOW;
      return { handle: await host.fs.open(temp, reopen, 0o600), direct: false };
    }
  });
  return new StagedFile(host, temp, handle.handle, handle.direct, what);
}

class StagedFile implements StagedObject {
  readonly #host: StagingHost;
  readonly #temp: string;
  readonly #what: string;
  #handle: FileHandle | undefined;
  #direct: boolean;
  /** The direct handle, once a refused write made the writes after it go through a buffered one. */
  #retired: FileHandle | undefined;
  #refused: Promise<FileHandle> | undefined;
  /** Bytes written; with direct I/O the file may be longer (rounded up) until commit cuts it. */
  #size = 0;
  #padded = false;

  constructor(host: StagingHost, temp: string, handle: FileHandle, direct: boolean, what: string) {
    this.#host = host;
    this.#temp = temp;
    this.#handle = handle;
    this.#direct = direct;
    this.#what = what;
  }

  /**
   * Positional writes, so several may run at once: a pack's segments go to the disk in parallel
   * (one direct write at a time per pack left the workers waiting for free segments).
   */
  write(bytes: Uint8Array, aligned = false): Promise<void> {
    const at = this.#size;
    this.#size += bytes.length;
    if (this.#direct && (!aligned || at % ALIGN !== 0)) {
      // From here on through the page cache, once the direct writes before this one are done.
      this.#direct = false;
      const before = [...this.#writes];
      this.#switching = Promise.allSettled(before).then(() => this.#leaveDirect());
    }
    const direct = this.#direct;
    const switching = this.#switching;
    const task = (async () => {
      await switching;
      const length = direct ? alignUp(bytes.length) : bytes.length;
      const source = length === bytes.length ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, length);
      if (length !== bytes.length) this.#padded = true;
      const handle = this.#open();
      // A retried write lands on the same bytes.
      await this.#host.attempt(`write ${this.#what}`, async () => {
        try {
          await writeFully(handle, source, at);
        } catch (error) {
          if (!direct || errnoCode(error) !== 'EINVAL') throw error;
          await writeFully(await this.#refuseDirect(), bytes, at);
        }
      });
    })();
    this.#writes.add(task);
    void task.then(
      () => this.#writes.delete(task),
      async () => {
        this.#writes.delete(task);
        await this.abort();
      },
    );
    return task;
  }

  /** Writes in flight. */
  readonly #writes = new Set<Promise<void>>();
  #switching: Promise<void> | undefined;

  async commit(name: string): Promise<void> {
    const file = this.#host.path(name);
    try {
      await Promise.all(this.#writes);
      const handle = this.#open();
      await this.#host.attempt(`put ${name}`, async (attempt) => {
        if (this.#padded) await handle.truncate(this.#size);
        await handle.sync();
        await this.#host.ensureDir(dirname(file));
        try {
          await this.#host.fs.link(this.#temp, file);
        } catch (error) {
          if (errnoCode(error) !== 'EEXIST') throw error;
          // A retry may find its own earlier link: same file, same outcome.
          if (!(attempt > 1 && (await this.#sameFile(file)))) fail('E_STORAGE_EXISTS', `storage object ${name} already exists`);
        }
        await this.#host.syncDir(dirname(file));
      });
    } finally {
      await this.abort();
    }
  }

  async abort(): Promise<void> {
    const handle = this.#handle;
    this.#handle = undefined;
    await handle?.close().catch(() => undefined);
    await this.#retired?.close().catch(() => undefined);
    this.#retired = undefined;
    await this.#host.fs.unlink(this.#temp).catch(() => undefined);
  }

  #open(): FileHandle {
    if (!this.#handle) fail('E_STORAGE_FAILED', `${this.#what}: the staged object was closed`);
    return this.#handle;
  }

  /**
   * A direct write was refused: a buffered handle for it and every write after it. The direct
   * handle stays open until abort(), since other direct writes may still be using it (each that
   * is refused too comes here and gets the same buffered handle).
   */
  #refuseDirect(): Promise<FileHandle> {
    this.#refused ??= (async () => {
      this.#direct = false;
      const buffered = await this.#host.fs.open(this.#temp, constants.O_WRONLY, 0o600);
      this.#retired = this.#handle;
      this.#handle = buffered;
      return buffered;
    })();
    return this.#refused;
  }

  /** Reopens the temp file for buffered writes: what follows is not aligned. */
  async #leaveDirect(): Promise<void> {
    const previous = this.#open();
    this.#handle = undefined;
    await previous.close();
    this.#handle = await this.#host.fs.open(this.#temp, constants.O_WRONLY, 0o600);
  }

  async #sameFile(file: string): Promise<boolean> {
    const [a, b] = await Promise.all([this.#host.fs.stat(this.#temp), this.#host.fs.stat(file)]);
    return a.ino === b.ino && a.dev === b.dev;
  }
}
