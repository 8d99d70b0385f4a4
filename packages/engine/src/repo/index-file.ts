/**
 * Index files (format.md §9.6): which blob lies where. Sealed objects of kind
 * "CFIX" under the index subkey; the payload is
 *
 *   supersedes_count:u32 ‖ index_id:32 × supersedes_count
 *   ‖ pack_count:u32 ‖ { pack_id:32 ‖ pack_salt:32 ‖ entry_count:u32
 *                        ‖ { type:u8 ‖ blob_id:32 ‖ offset:u32 ‖ length:u32 ‖ raw_length:u32 } × entry_count } × pack_count
 *
 * A backup writes index files as it goes (so an interrupted run's packs are
 * reused by the next), prune writes one that supersedes those it replaces.
 *
 * Entries stay in their encoded form (RawPack) between the storage and the in-memory index
 * (blob-index.ts), both ways: a repository of database pages holds hundreds of thousands.
 */
import { LABELS, fail, fromHex, toHex } from '@coffer/core';
import type { IndexedPack, RawPack } from './blob-index.ts';
import { ENTRY_BYTES, checkEntries, decodeEntries, encodeEntries } from './entries.ts';
import { MAX_PACK_ENTRIES } from './pack.ts';
import { type SealedObjectKind, openObject, sealObject } from './sealed-object.ts';

export { BlobIndex, type BlobLocation, type IndexedPack, type RawPack } from './blob-index.ts';

export const INDEX_OBJECT: SealedObjectKind = { magic: 'CFIX', label: LABELS.indexFileKey, what: 'index file' };
const MAX_PACKS_PER_INDEX = 1 << 20;

export interface IndexFile {
  readonly supersedes: readonly string[];
  readonly packs: readonly IndexedPack[];
}

export interface RawIndexFile {
  readonly supersedes: readonly string[];
  readonly packs: readonly RawPack[];
}

export function toRawPack(pack: IndexedPack): RawPack {
  return { id: pack.id, salt: pack.salt, entries: encodeEntries(pack.entries) };
}

export function encodeIndexFile(index: IndexFile): Uint8Array {
  return encodeRawIndexFile({ supersedes: index.supersedes, packs: index.packs.map(toRawPack) });
}

// One preallocated buffer: an index of many small blobs has hundreds of thousands of fields.
export function encodeRawIndexFile(index: RawIndexFile): Uint8Array {
  let size = 4 + 32 * index.supersedes.length + 4;
  for (const pack of index.packs) size += 32 + 32 + 4 + pack.entries.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  const put = (bytes: Uint8Array, length: number, what: string): void => {
    if (bytes.length !== length) fail('E_INVALID_ARGUMENT', `${what} must be ${String(length)} bytes`);
    out.set(bytes, at);
    at += length;
  };
  view.setUint32(at, index.supersedes.length);
  at += 4;
  for (const id of index.supersedes) put(fromHex(id), 32, 'an index id');
  view.setUint32(at, index.packs.length);
  at += 4;
  for (const pack of index.packs) {
    if (pack.entries.length % ENTRY_BYTES !== 0) fail('E_INVALID_ARGUMENT', 'pack entries must be whole 45-byte records');
    put(fromHex(pack.id), 32, 'a pack id');
    put(pack.salt, 32, 'a pack salt');
    view.setUint32(at, pack.entries.length / ENTRY_BYTES);
    at += 4;
    put(pack.entries, pack.entries.length, 'pack entries');
  }
  return out;
}

export function decodeIndexFile(bytes: Uint8Array, where: string): IndexFile {
  const raw = decodeRawIndexFile(bytes, where);
  return { supersedes: raw.supersedes, packs: raw.packs.map((p) => ({ id: p.id, salt: p.salt, entries: decodeEntries(p.entries) })) };
}

/** Parses and validates an index payload; entries are views of `bytes`. */
export function decodeRawIndexFile(bytes: Uint8Array, where: string): RawIndexFile {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  const need = (count: number, field: string): void => {
    if (count > bytes.length - at) fail('E_TRUNCATED', `${where}: ${field} needs ${String(count)} bytes, ${String(bytes.length - at)} left`);
  };
  const u32 = (field: string): number => {
    need(4, field);
    const value = view.getUint32(at);
    at += 4;
    return value;
  };
  const take = (count: number, field: string): Uint8Array => {
    need(count, field);
    const out = bytes.subarray(at, at + count);
    at += count;
    return out;
  };
  const supersedesCount = u32('supersedes count');
  if (supersedesCount * 32 > bytes.length - at) fail('E_TRUNCATED', `${where}: supersedes list cut short`);
  const supersedes: string[] = [];
  for (let i = 0; i < supersedesCount; i++) supersedes.push(toHex(take(32, 'superseded id')));
  const packCount = u32('pack count');
  if (packCount > MAX_PACKS_PER_INDEX) fail('E_TOO_LARGE', `${where}: ${String(packCount)} packs`);
  const packs: RawPack[] = [];
  for (let p = 0; p < packCount; p++) {
    const id = toHex(take(32, 'pack id'));
    const salt = take(32, 'pack salt').slice();
    const count = u32('entry count');
    if (count > MAX_PACK_ENTRIES) fail('E_TOO_LARGE', `${where}: pack ${id} lists ${String(count)} blobs`);
    if (count * ENTRY_BYTES > bytes.length - at) fail('E_TRUNCATED', `${where}: pack ${id} entries cut short`);
    const entries = take(count * ENTRY_BYTES, 'entries');
    checkEntries(entries, where);
    packs.push({ id, salt, entries });
  }
  if (at !== bytes.length) fail('E_FORMAT', `${where}: ${String(bytes.length - at)} unexpected trailing bytes`);
  return { supersedes, packs };
}

export async function sealIndexFile(indexKey: Uint8Array, index: IndexFile | RawIndexFile): Promise<Uint8Array> {
  return sealObject(INDEX_OBJECT, indexKey, isRaw(index) ? encodeRawIndexFile(index) : encodeIndexFile(index));
}

export async function openIndexFile(indexKey: Uint8Array, bytes: Uint8Array, name: string): Promise<IndexFile> {
  return decodeIndexFile(await openObject(INDEX_OBJECT, indexKey, bytes, name), `index file ${name}`);
}

export async function openRawIndexFile(indexKey: Uint8Array, bytes: Uint8Array, name: string): Promise<RawIndexFile> {
  return decodeRawIndexFile(await openObject(INDEX_OBJECT, indexKey, bytes, name), `index file ${name}`);
}

function isRaw(index: IndexFile | RawIndexFile): index is RawIndexFile {
  const first = index.packs[0];
  return first !== undefined && first.entries instanceof Uint8Array;
}
