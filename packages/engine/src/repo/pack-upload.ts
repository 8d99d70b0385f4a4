/**
 * Writing a pack while it is being built. A pack's name comes from its header (format.md §9.5),
 * known only once the last byte is written, so a plain `put` needs the whole pack in memory first: 16 MiB
 * per pack in flight. A storage that can stage (the local filesystem) takes the bytes as they
 * come, into a temporary object, and publishes it under its name at `commit` — create-only,
 * durable and atomic like `put`. Any other storage gets the bytes gathered and `put` at commit.
 */
import type { Storage } from '../storage/storage.ts';

/** An object being written; invisible under any name until `commit` resolves. */
export interface StagedObject {
  /**
   * Appends bytes; `bytes` is free for reuse once this resolves. Calls may overlap: each lands
   * after the bytes of the calls made before it. `aligned` promises that `bytes` starts on a 4 KiB boundary of
   * page-aligned memory and that its buffer extends to the next 4 KiB boundary after it, so a
   * storage may write it with direct I/O, rounding the last piece up (and cutting the object
   * back to its length at commit).
   */
  write(bytes: Uint8Array, aligned?: boolean): Promise<void>;
  /** Makes the bytes durable and visible as `name` (create-only: E_STORAGE_EXISTS if taken). */
  commit(name: string): Promise<void>;
  /** Drops the bytes written so far. */
  abort(): Promise<void>;
}

/** A storage that can stage objects under the directory part of `near` (so commit can link them). */
export interface StagingStorage extends Storage {
  stage(near: string): Promise<StagedObject>;
}

export function canStage(storage: Storage): storage is StagingStorage {
  return typeof (storage as Partial<StagingStorage>).stage === 'function';
}

/** A staged object on `storage`, or one gathered in memory and `put` whole at commit. */
export async function openPackUpload(storage: Storage, near: string): Promise<StagedObject> {
  if (canStage(storage)) return storage.stage(near);
  const parts: Uint8Array[] = [];
  let size = 0;
  return {
    write(bytes) {
      parts.push(bytes.slice());
      size += bytes.length;
      return Promise.resolve();
    },
    async commit(name) {
      const whole = new Uint8Array(size);
      let at = 0;
      for (const part of parts) {
        whole.set(part, at);
        at += part.length;
      }
      parts.length = 0;
      await storage.put(name, whole);
    },
    abort() {
      parts.length = 0;
      return Promise.resolve();
    },
  };
}
