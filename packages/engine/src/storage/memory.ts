/**
 * An in-memory Storage for tests (isomorphic: no Node APIs). It follows the
 * whole contract, and adds seams for the engine's tests: one-shot failures
 * before or after an operation takes effect, a byte quota (E_STORAGE_FULL),
 * and `tamper` to play a store that changes bytes behind the client's back.
 */
import { fail } from '@coffer/core';
import { copyBytes, sliceRange } from './bytes.ts';
import { assertBody, assertExpectedVersion, assertName, assertPrefix, assertRange } from './names.ts';
import type { ByteRange, Storage, StoredObject, VersionedObject } from './storage.ts';

export type StorageOperation = 'put' | 'get' | 'stat' | 'list' | 'delete' | 'getVersioned' | 'swap';

export interface FaultOptions {
  /** How many calls in a row fail (default 1). */
  readonly times?: number;
  /**
   * Fail after the operation took effect (default false): the write landed
   * but the caller sees an error, as when a reply is lost on the way back.
   */
  readonly afterEffect?: boolean;
}

export interface MemoryStorageOptions {
  /** Largest total of stored bytes; a write past it is E_STORAGE_FULL. */
  readonly quotaBytes?: number;
  readonly location?: string;
}

interface Entry {
  readonly body: Uint8Array;
  readonly version: string;
}

interface Fault {
  readonly op: StorageOperation;
  readonly error: unknown;
  readonly afterEffect: boolean;
  remaining: number;
}

export class MemoryStorage implements Storage {
  readonly location: string;
  /** May be changed between calls to simulate a disk filling up or being freed. */
  quotaBytes: number | undefined;
  readonly #objects = new Map<string, Entry>();
  readonly #faults: Fault[] = [];
  #nextVersion = 1;

  constructor(options: MemoryStorageOptions = {}) {
    this.location = options.location ?? 'memory:';
    this.quotaBytes = options.quotaBytes;
  }

  /** The next `times` calls of `op` throw `error` (queued faults fire in order). */
  failNext(op: StorageOperation, error: unknown, options: FaultOptions = {}): void {
    this.#faults.push({ op, error, afterEffect: options.afterEffect ?? false, remaining: options.times ?? 1 });
  }

  /** Replaces an object's bytes regardless of the create-only rule, as a hostile or broken store would. */
  tamper(name: string, body: Uint8Array): void {
    assertName(name);
    this.#objects.set(name, { body: copyBytes(body), version: this.#newVersion() });
  }

  /** Total bytes stored, for quota tests. */
  get usedBytes(): number {
    let total = 0;
    for (const entry of this.#objects.values()) total += entry.body.length;
    return total;
  }

  async put(name: string, body: Uint8Array): Promise<void> {
    assertName(name);
    assertBody(body);
    await this.#run('put', () => {
      if (this.#objects.has(name)) fail('E_STORAGE_EXISTS', `storage object ${name} already exists`);
      this.#store(name, body);
    });
  }

  async get(name: string, range?: ByteRange): Promise<Uint8Array> {
    assertName(name);
    assertRange(range);
    return this.#run('get', () => copyBytes(sliceRange(this.#existing(name).body, range)));
  }

  async stat(name: string): Promise<StoredObject | undefined> {
    assertName(name);
    return this.#run('stat', () => {
      const entry = this.#objects.get(name);
      return entry === undefined ? undefined : { name, size: entry.body.length };
    });
  }

  async *list(prefix: string): AsyncIterable<StoredObject> {
    assertPrefix(prefix);
    // A snapshot taken at the call: everything written before it is listed once.
    const found = await this.#run('list', () =>
      [...this.#objects].filter(([name]) => name.startsWith(prefix)).map(([name, entry]) => ({ name, size: entry.body.length })),
    );
    yield* found;
  }

  async delete(name: string): Promise<void> {
    assertName(name);
    await this.#run('delete', () => {
      this.#objects.delete(name);
    });
  }

  async getVersioned(name: string): Promise<VersionedObject | undefined> {
    assertName(name);
    return this.#run('getVersioned', () => {
      const entry = this.#objects.get(name);
      return entry === undefined ? undefined : { body: copyBytes(entry.body), version: entry.version };
    });
  }

  async swap(name: string, body: Uint8Array, expectedVersion: string | null): Promise<string> {
    assertName(name);
    assertBody(body);
    assertExpectedVersion(expectedVersion);
    return this.#run('swap', () => {
      const current = this.#objects.get(name)?.version ?? null;
      if (current !== expectedVersion) fail('E_STORAGE_PRECONDITION', `storage object ${name} is not at the expected version`);
      return this.#store(name, body);
    });
  }

  async close(): Promise<void> {
    // Nothing to release; the objects stay so a test can "reopen" the same store.
  }

  #newVersion(): string {
    return `m${String(this.#nextVersion++)}`;
  }

  #existing(name: string): Entry {
    const entry = this.#objects.get(name);
    if (entry === undefined) fail('E_STORAGE_NOT_FOUND', `storage object ${name} does not exist`);
    return entry;
  }

  #store(name: string, body: Uint8Array): string {
    const replaced = this.#objects.get(name)?.body.length ?? 0;
    if (this.quotaBytes !== undefined && this.usedBytes - replaced + body.length > this.quotaBytes) {
      fail('E_STORAGE_FULL', `storage quota of ${String(this.quotaBytes)} bytes reached`);
    }
    const version = this.#newVersion();
    this.#objects.set(name, { body: copyBytes(body), version });
    return version;
  }

  /** One await first, so concurrent callers interleave as they would with a real store. */
  async #run<T>(op: StorageOperation, action: () => T): Promise<T> {
    await Promise.resolve();
    const index = this.#faults.findIndex((fault) => fault.op === op);
    const fault = index === -1 ? undefined : this.#faults[index];
    if (fault !== undefined) {
      fault.remaining--;
      if (fault.remaining <= 0) this.#faults.splice(index, 1);
      if (!fault.afterEffect) throw fault.error;
    }
    const result = action();
    if (fault !== undefined) throw fault.error;
    return result;
  }
}
