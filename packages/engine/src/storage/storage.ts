/**
 * The one storage interface every backend implements (design decision 4), and
 * which the engine alone talks to. One conformance suite
 * (test/storage-conformance.ts) runs against every driver.
 *
 * Contract:
 * - Names are relative, `/`-separated, of the characters [a-z0-9._-/], never
 *   empty, never starting or ending with `/`, no empty, `.` or `..` segment,
 *   ≤ 255 bytes. Drivers reject others with E_INVALID_ARGUMENT.
 * - A name is never also the directory part of another (`a` and `a/b`):
 *   hierarchical stores (filesystem, WebDAV) cannot hold both and refuse the
 *   second write with E_STORAGE_EXISTS.
 * - `put` is create-only and atomic: the object becomes visible whole or not at
 *   all, and an existing object is never replaced (E_STORAGE_EXISTS). When `put`
 *   resolves, the object is durable.
 * - `get` returns the whole object or the byte range [offset, offset + length);
 *   a range past the end is clipped; a missing object is E_STORAGE_NOT_FOUND.
 * - `list(prefix)` yields every object whose name starts with `prefix`, in no
 *   particular order, each once; objects written before the call are included.
 * - `delete` removes an object; deleting a missing object is not an error.
 * - `getVersioned` / `swap` serve the one mutable pointer a repository may keep:
 *   `swap(name, body, expected)` replaces the object only if its current version
 *   is `expected` (null: only if it does not exist), else E_STORAGE_PRECONDITION.
 * - Transient failures (timeouts, resets, 5xx, 429) are retried inside the
 *   driver with backoff; what escapes is a CofferError with an E_STORAGE_* code
 *   (or E_INVALID_ARGUMENT), never a raw library error.
 * - Secrets (credentials, tokens) never appear in `location` or in errors.
 */
export interface StoredObject {
  readonly name: string;
  readonly size: number;
}

export interface ByteRange {
  readonly offset: number;
  readonly length: number;
}

export interface VersionedObject {
  readonly body: Uint8Array;
  /** Opaque version token for `swap`. */
  readonly version: string;
}

export interface Storage {
  /** Where the data lives, for people: no credentials. */
  readonly location: string;
  put(name: string, body: Uint8Array): Promise<void>;
  get(name: string, range?: ByteRange): Promise<Uint8Array>;
  /** Size of an object, or undefined when it does not exist. */
  stat(name: string): Promise<StoredObject | undefined>;
  list(prefix: string): AsyncIterable<StoredObject>;
  delete(name: string): Promise<void>;
  getVersioned(name: string): Promise<VersionedObject | undefined>;
  swap(name: string, body: Uint8Array, expectedVersion: string | null): Promise<string>;
  /** Releases connections, servers, file handles. */
  close(): Promise<void>;
}
