/**
 * Storage on a local filesystem (design decision 4). An object is the file
 * `root/<name>`; `/` in names makes subdirectories, so fan-out names such as
 * `data/ab/abcdef…` give fan-out directories.
 *
 * put: write a temp file in the target directory → fsync it → link() it to
 * the final name → fsync the directory → remove the temp name. link() fails
 * with EEXIST instead of replacing, which rename() would do, so put is
 * create-only without a check-then-act race, and the object appears whole.
 *
 * Files whose names are not valid object names (temp files `.x.~tmp-…`, lock
 * files `.x.~lock`) are never listed; temp files a crash left behind are
 * removed by list once they are older than `staleTempMs`.
 *
 * swap: a lock file per pointer (local-lock.ts), and the version is the
 * SHA-256 of the content: stateless, and valid for objects written by put.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { CofferError, fail } from '@coffer/core';
import { contentVersion, equalBytes } from '../storage/bytes.ts';
import { assertBody, assertExpectedVersion, assertName, assertPrefix, assertRange, isValidName } from '../storage/names.ts';
import { withClassifiedRetry, type RetryOptions } from '../storage/retry.ts';
import type { ByteRange, StoredObject, VersionedObject } from '../storage/storage.ts';
import type { StagedObject, StagingStorage } from '../repo/pack-upload.ts';
import type { ReadIntoStorage } from '../repo/read-into.ts';
import { errnoCode, fsFailure, isMissing } from './local-errors.ts';
import { nodeFs, type LocalFs } from './local-fs.ts';
import { acquireLock, type LockTiming } from './local-lock.ts';
import { openStagedFile } from './staged-file.ts';

export interface LocalStorageOptions {
  /** Filesystem seam for tests (default: node:fs/promises). */
  readonly fs?: LocalFs;
  readonly retry?: RetryOptions;
  /** Temp files older than this are crash leftovers that list removes (default 1 hour). */
  readonly staleTempMs?: number;
  readonly lock?: Partial<LockTiming>;
}

const TEMP_FILE = /^\..+\.~tmp-[0-9a-f]+$/;

export class LocalStorage implements StagingStorage, ReadIntoStorage {
  readonly location: string;
  readonly #root: string;
  readonly #fs: LocalFs;
  readonly #retry: RetryOptions;
  readonly #staleTempMs: number;
  readonly #lock: LockTiming;
  /** Directories known to exist and to be durable, so each is created and fsynced once. */
  readonly #dirs = new Set<string>();

  constructor(root: string, options: LocalStorageOptions = {}) {
    this.#root = resolve(root);
    this.location = this.#root;
    this.#fs = options.fs ?? nodeFs;
    this.#retry = options.retry ?? {};
    this.#staleTempMs = options.staleTempMs ?? 60 * 60 * 1000;
    this.#lock = { staleMs: options.lock?.staleMs ?? 30_000, waitMs: options.lock?.waitMs ?? 10_000 };
  }

  async put(name: string, body: Uint8Array): Promise<void> {
    assertName(name);
    assertBody(body);
    await this.#attempt(`put ${name}`, async (attempt) => {
      if (await this.#create(name, body)) return;
      // A retried put may find its own earlier try's file: same bytes, same outcome.
      if (attempt > 1) {
        const existing = await this.#read(name);
        if (existing !== undefined && equalBytes(existing, body)) return;
      }
      fail('E_STORAGE_EXISTS', `storage object ${name} already exists`);
    });
  }

  async get(name: string, range?: ByteRange): Promise<Uint8Array> {
    assertName(name);
    assertRange(range);
    return this.#attempt(`get ${name}`, async () => {
      const bytes = await this.#read(name, range);
      if (bytes === undefined) fail('E_STORAGE_NOT_FOUND', `storage object ${name} does not exist`);
      return bytes;
    });
  }

  async stat(name: string): Promise<StoredObject | undefined> {
    assertName(name);
    return this.#attempt(`stat ${name}`, async () => {
      try {
        const info = await this.#fs.stat(this.#path(name));
        return info.isFile() ? { name, size: info.size } : undefined;
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw error;
      }
    });
  }

  async *list(prefix: string): AsyncIterable<StoredObject> {
    assertPrefix(prefix);
    // Start at the deepest directory the prefix names: `data/ab/x` reads data/ab only.
    const cut = prefix.lastIndexOf('/');
    yield* this.#walk(cut === -1 ? '' : prefix.slice(0, cut), prefix);
  }

  async delete(name: string): Promise<void> {
    assertName(name);
    await this.#attempt(`delete ${name}`, async () => {
      try {
        await this.#fs.unlink(this.#path(name));
      } catch (error) {
        // Missing, or a directory (which is not an object): nothing to delete.
        if (isMissing(error) || errnoCode(error) === 'EISDIR') return;
        throw error;
      }
    });
  }

  async getVersioned(name: string): Promise<VersionedObject | undefined> {
    assertName(name);
    return this.#attempt(`getVersioned ${name}`, async () => {
      const body = await this.#read(name);
      return body === undefined ? undefined : { body, version: await contentVersion(body) };
    });
  }

  async swap(name: string, body: Uint8Array, expectedVersion: string | null): Promise<string> {
    assertName(name);
    assertBody(body);
    assertExpectedVersion(expectedVersion);
    const newVersion = await contentVersion(body);
    return this.#attempt(`swap ${name}`, async (attempt) => {
      const file = this.#path(name);
      await this.#ensureDir(dirname(file));
      const lock = await acquireLock(this.#fs, join(dirname(file), `.${basename(file)}.~lock`), this.#lock);
      try {
        const current = await this.#read(name);
        const currentVersion = current === undefined ? null : await contentVersion(current);
        // A retried swap whose earlier try landed finds its own bytes.
        if (attempt > 1 && currentVersion === newVersion) return newVersion;
        if (currentVersion !== expectedVersion) {
          fail('E_STORAGE_PRECONDITION', `storage object ${name} is not at the expected version`);
        }
        await this.#writeDurably(file, body, async (temp) => {
          if (!(await lock.stillHeld())) throw new CofferError('E_STORAGE_UNAVAILABLE', `swap ${name}: lost the lock while writing`);
          // Creating: link, so a racing put (which takes no lock) cannot be replaced. Replacing: rename is atomic.
          if (expectedVersion !== null) return this.#fs.rename(temp, file);
          try {
            await this.#fs.link(temp, file);
          } catch (error) {
            if (errnoCode(error) === 'EEXIST') fail('E_STORAGE_PRECONDITION', `storage object ${name} appeared while being created`);
            throw error;
          }
        });
        return newVersion;
      } finally {
        await lock.release();
      }
    });
  }

  /**
   * A byte range read straight into `target` (repo/read-into.ts); with direct I/O when aligned,
   * so restored packs do not pass through (and evict) the page cache.
   */
  async readInto(name: string, offset: number, target: Uint8Array, aligned: boolean): Promise<number> {
    assertName(name);
    return this.#attempt(`get ${name}`, async () => {
      let handle;
      let direct = aligned;
      try {
        handle = await this.#fs.open(this.#path(name), constants.O_RDONLY | (aligned ? constants.O_DIRECT : 0));
      } catch (error) {
        if (isMissing(error)) fail('E_STORAGE_NOT_FOUND', `storage object ${name} does not exist`);
        // EINVAL: this filesystem has no direct I/O.
        if (!aligned || errnoCode(error) !== 'EINVAL') throw error;
        handle = await this.#fs.open(this.#path(name), 'r');
        direct = false;
      }
      try {
        let done = 0;
        while (done < target.length) {
          const { bytesRead } = await handle.read(target, done, target.length - done, offset + done);
          done += bytesRead;
          // The end of the object (a direct read must not go on from an unaligned offset).
          if (bytesRead === 0 || (direct && done % 4096 !== 0)) break;
        }
        return done;
      } finally {
        await handle.close();
      }
    });
  }

  /** A pack written as it is built, straight to disk where it can be (staged-file.ts). */
  async stage(directory: string): Promise<StagedObject> {
    assertName(directory);
    const dir = this.#path(directory);
    await this.#attempt(`stage in ${directory}`, () => this.#ensureDir(dir));
    return openStagedFile(
      {
        fs: this.#fs,
        attempt: (what, op) => this.#attempt(what, op),
        ensureDir: (d) => this.#ensureDir(d),
        syncDir: (d) => this.#syncDir(d),
        path: (name) => {
          assertName(name);
          return this.#path(name);
        },
      },
      dir,
      `staged object in ${directory}`,
    );
  }

  async close(): Promise<void> {
    // Every call opens and closes its own handles; nothing stays open.
  }


  #path(name: string): string {
    return join(this.#root, ...name.split('/'));
  }

  #attempt<T>(what: string, op: (attempt: number) => Promise<T>): Promise<T> {
    return withClassifiedRetry(what, op, fsFailure, this.#retry);
  }

  /** Writes the object create-only; false when the name is taken. */
  async #create(name: string, body: Uint8Array): Promise<boolean> {
    const file = this.#path(name);
    await this.#ensureDir(dirname(file));
    try {
      await this.#writeDurably(file, body, (temp) => this.#fs.link(temp, file));
      return true;
    } catch (error) {
      // EEXIST: the name is an object, or a directory of objects (the contract refuses both).
      if (errnoCode(error) === 'EEXIST') return false;
      throw error;
    }
  }

  /**
   * temp file in the same directory → write → fsync → `publish` (link or
   * rename to the final name) → fsync the directory, so the new entry
   * survives a crash → drop the temp name.
   */
  async #writeDurably(file: string, body: Uint8Array, publish: (temp: string) => Promise<void>): Promise<void> {
    const temp = join(dirname(file), `.${basename(file)}.~tmp-${randomBytes(8).toString('hex')}`);
    try {
      const handle = await this.#fs.open(temp, 'wx', 0o600);
      try {
        await handle.writeFile(body);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await publish(temp);
      await this.#syncDir(dirname(file));
    } finally {
      await this.#fs.unlink(temp).catch(() => undefined);
    }
  }

  async #syncDir(dir: string): Promise<void> {
    const handle = await this.#fs.open(dir, 'r');
    try {
      await handle.sync();
    } catch (error) {
      // Some filesystems cannot fsync a directory (EINVAL); their entries are as durable as they get.
      if (errnoCode(error) !== 'EINVAL') throw error;
    } finally {
      await handle.close();
    }
  }

  /** mkdir -p, then fsync the parent of every directory it created, so they survive a crash too. */
  async #ensureDir(dir: string): Promise<void> {
    if (this.#dirs.has(dir)) return;
    let first: string | undefined;
    try {
      first = await this.#fs.mkdir(dir, { recursive: true });
    } catch (error) {
      // A file stands where a directory is needed: `a` exists and `a/b` was asked for.
      if (errnoCode(error) === 'EEXIST' || errnoCode(error) === 'ENOTDIR') {
        fail('E_STORAGE_EXISTS', `${dir} cannot be made a directory: a file stands at it or above it`);
      }
      throw error;
    }
    if (first !== undefined) {
      for (let created = dir; ; created = dirname(created)) {
        await this.#syncDir(dirname(created));
        if (created === first || dirname(created) === created) break;
      }
    }
    this.#dirs.add(dir);
  }

  /** The whole object or a clipped range; undefined when there is no such file. */
  async #read(name: string, range?: ByteRange): Promise<Uint8Array | undefined> {
    let handle;
    try {
      handle = await this.#fs.open(this.#path(name), 'r');
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
    try {
      const info = await handle.stat();
      if (!info.isFile()) return undefined;
      const start = Math.min(range?.offset ?? 0, info.size);
      const length = Math.min(range?.length ?? info.size, info.size - start);
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(out, done, length - done, start + done);
        // The file shrank under us: objects never do, so this is damage, not a race.
        if (bytesRead === 0) fail('E_STORAGE_FAILED', `storage object ${name} ended early while being read`);
        done += bytesRead;
      }
      return out;
    } finally {
      await handle.close();
    }
  }

  async *#walk(dir: string, prefix: string): AsyncGenerator<StoredObject> {
    const entries = await this.#attempt(`list ${dir === '' ? '.' : dir}`, async () => {
      try {
        return await this.#fs.readdir(dir === '' ? this.#root : this.#path(dir), { withFileTypes: true });
      } catch (error) {
        if (isMissing(error)) return [];
        throw error;
      }
    });
    for (const entry of entries) {
      const name = dir === '' ? entry.name : `${dir}/${entry.name}`;
      if (entry.isDirectory()) {
        const asDir = `${name}/`;
        if (asDir.startsWith(prefix) || prefix.startsWith(asDir)) yield* this.#walk(name, prefix);
      } else if (entry.isFile()) {
        if (isValidName(name)) {
          if (!name.startsWith(prefix)) continue;
          const object = await this.stat(name);
          // Deleted since readdir: not there any more.
          if (object !== undefined) yield object;
        } else if (TEMP_FILE.test(entry.name)) {
          await this.#removeIfStale(join(dir === '' ? this.#root : this.#path(dir), entry.name));
        }
      }
      // Symlinks and other kinds are not objects, and are never followed out of the root.
    }
  }

  async #removeIfStale(temp: string): Promise<void> {
    try {
      if (Date.now() - (await this.#fs.stat(temp)).mtimeMs > this.#staleTempMs) await this.#fs.unlink(temp);
    } catch {
      // Best effort: a leftover that cannot be removed now is still never listed.
    }
  }
}
