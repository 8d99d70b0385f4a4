/**
 * Reading a byte range of an object into memory the caller provides. A restore reads packs into
 * shared memory that the worker threads decrypt in place; `get` would return a fresh buffer to
 * copy from. A storage that can (the local filesystem) reads straight into the target — with
 * direct I/O when `aligned`, so a gigabyte of packs does not pass through the page cache.
 */
import { fail } from '@coffer/core';
import type { Storage } from '../storage/storage.ts';

export interface ReadIntoStorage extends Storage {
  /**
   * Reads bytes [offset, offset + target.length) of `name` into `target`; returns how many there
   * were (fewer at the object's end). `aligned` promises that offset and target.length are
   * multiples of 4 KiB and that target starts on a 4 KiB boundary of page-aligned memory.
   * E_STORAGE_NOT_FOUND for a missing object.
   */
  readInto(name: string, offset: number, target: Uint8Array, aligned: boolean): Promise<number>;
}

export function canReadInto(storage: Storage): storage is ReadIntoStorage {
  return typeof (storage as Partial<ReadIntoStorage>).readInto === 'function';
}

/** readInto where the storage has it, else a ranged get copied into `target`. */
export async function readRange(storage: Storage, name: string, offset: number, target: Uint8Array, aligned: boolean): Promise<number> {
  if (canReadInto(storage)) return storage.readInto(name, offset, target, aligned);
  const bytes = await storage.get(name, { offset, length: target.length });
  if (bytes.length > target.length) fail('E_STORAGE_FAILED', `storage returned more of ${name} than asked`);
  target.set(bytes);
  return bytes.length;
}
