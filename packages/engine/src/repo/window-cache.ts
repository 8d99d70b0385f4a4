/**
 * Reads of small blobs through a few cached windows of their packs. Tree blobs — directories
 * and content lists (content-list.ts) — are small and written one after another into the same
 * packs, and a restore, a check or a backup's reuse test reads a database's 1,500 content lists
 * one by one: a storage read each (four system calls locally, a request remotely). A window of
 * 256 KiB around the first serves its neighbours too.
 *
 * Only bytes are cached, never trust: every blob read through a window is authenticated and
 * checked against its id like any other (Repository.openBlob).
 */
import type { Storage } from '../storage/storage.ts';

const WINDOW_BYTES = 256 * 1024;
const WINDOWS = 8;

export class WindowCache {
  readonly #storage: Storage;
  /** Windows by "object:index", least recently used first. */
  readonly #windows = new Map<string, Promise<Uint8Array>>();

  constructor(storage: Storage) {
    this.#storage = storage;
  }

  /** Bytes [offset, offset + length) of `name`, clipped at its end like a ranged get. */
  async read(name: string, offset: number, length: number): Promise<Uint8Array> {
    const index = Math.floor(offset / WINDOW_BYTES);
    // A blob that crosses a window boundary, or is larger than one, is read on its own.
    if (length > WINDOW_BYTES || offset + length > (index + 1) * WINDOW_BYTES) return this.#storage.get(name, { offset, length });
    const key = `${name}:${String(index)}`;
    let window = this.#windows.get(key);
    if (window) {
      this.#windows.delete(key);
    } else {
      window = this.#storage.get(name, { offset: index * WINDOW_BYTES, length: WINDOW_BYTES });
      // A failed read is not kept: the next one tries again.
      window.catch(() => this.#windows.delete(key));
    }
    this.#windows.set(key, window);
    while (this.#windows.size > WINDOWS) {
      const oldest = this.#windows.keys().next().value;
      if (oldest === undefined) break;
      this.#windows.delete(oldest);
    }
    const bytes = await window;
    const start = offset - index * WINDOW_BYTES;
    return bytes.subarray(Math.min(start, bytes.length), Math.min(start + length, bytes.length));
  }

  /** Forgets every window (after objects were deleted or replaced, e.g. by prune). */
  clear(): void {
    this.#windows.clear();
  }
}
