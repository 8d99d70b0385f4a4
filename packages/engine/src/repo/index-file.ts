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
 */
import { ByteReader, ByteWriter, LABELS, fail, fromHex, toHex } from '@coffer/core';
import { BLOB_TYPE_CODES, type BlobType, blobKey, blobTypeFromCode } from './blob.ts';
import { MAX_PACK_ENTRIES, type PackEntry } from './pack.ts';
import { type SealedObjectKind, openObject, sealObject } from './sealed-object.ts';

export const INDEX_OBJECT: SealedObjectKind = { magic: 'CFIX', label: LABELS.indexFileKey, what: 'index file' };
const MAX_PACKS_PER_INDEX = 1 << 20;

export interface IndexedPack {
  readonly id: string;
  readonly salt: Uint8Array;
  readonly entries: readonly PackEntry[];
}

export interface IndexFile {
  readonly supersedes: readonly string[];
  readonly packs: readonly IndexedPack[];
}

export function encodeIndexFile(index: IndexFile): Uint8Array {
  const writer = new ByteWriter().u32(index.supersedes.length);
  for (const id of index.supersedes) writer.bytes(fromHex(id));
  writer.u32(index.packs.length);
  for (const pack of index.packs) {
    writer.bytes(fromHex(pack.id)).bytes(pack.salt).u32(pack.entries.length);
    for (const e of pack.entries) writer.u8(BLOB_TYPE_CODES[e.type]).bytes(e.id).u32(e.offset).u32(e.length).u32(e.rawLength);
  }
  return writer.finish();
}

export function decodeIndexFile(bytes: Uint8Array, where: string): IndexFile {
  const reader = new ByteReader(bytes, where);
  const supersedesCount = reader.u32('supersedes count');
  if (supersedesCount * 32 > reader.remaining) fail('E_TRUNCATED', `${where}: supersedes list cut short`);
  const supersedes: string[] = [];
  for (let i = 0; i < supersedesCount; i++) supersedes.push(toHex(reader.bytesOf(32, 'superseded id')));
  const packCount = reader.u32('pack count');
  if (packCount > MAX_PACKS_PER_INDEX) fail('E_TOO_LARGE', `${where}: ${String(packCount)} packs`);
  const packs: IndexedPack[] = [];
  for (let p = 0; p < packCount; p++) {
    const id = toHex(reader.bytesOf(32, 'pack id'));
    const salt = reader.bytesOf(32, 'pack salt');
    const count = reader.u32('entry count');
    if (count > MAX_PACK_ENTRIES) fail('E_TOO_LARGE', `${where}: pack ${id} lists ${String(count)} blobs`);
    if (count * 45 > reader.remaining) fail('E_TRUNCATED', `${where}: pack ${id} entries cut short`);
    const entries: PackEntry[] = [];
    for (let i = 0; i < count; i++) {
      entries.push({
        type: blobTypeFromCode(reader.u8('type')),
        id: reader.bytesOf(32, 'blob id'),
        offset: reader.u32('offset'),
        length: reader.u32('length'),
        rawLength: reader.u32('raw length'),
      });
    }
    packs.push({ id, salt, entries });
  }
  reader.expectEnd();
  return { supersedes, packs };
}

export async function sealIndexFile(indexKey: Uint8Array, index: IndexFile): Promise<Uint8Array> {
  return sealObject(INDEX_OBJECT, indexKey, encodeIndexFile(index));
}

export async function openIndexFile(indexKey: Uint8Array, bytes: Uint8Array, name: string): Promise<IndexFile> {
  return decodeIndexFile(await openObject(INDEX_OBJECT, indexKey, bytes, name), `index file ${name}`);
}

export interface BlobLocation {
  readonly packId: string;
  readonly salt: Uint8Array;
  readonly entry: PackEntry;
}

/** The in-memory view of every index file: blob → location, pack → entries. */
export class BlobIndex {
  private readonly blobs = new Map<string, BlobLocation>();
  private readonly packMap = new Map<string, IndexedPack>();

  addPack(pack: IndexedPack): void {
    this.packMap.set(pack.id, pack);
    for (const entry of pack.entries) {
      const key = blobKey(entry.type, entry.id);
      // The first location wins; duplicates across packs (from interrupted runs) are harmless.
      if (!this.blobs.has(key)) this.blobs.set(key, { packId: pack.id, salt: pack.salt, entry });
    }
  }

  has(type: BlobType, id: Uint8Array): boolean {
    return this.blobs.has(blobKey(type, id));
  }

  lookup(type: BlobType, id: Uint8Array): BlobLocation | undefined {
    return this.blobs.get(blobKey(type, id));
  }

  get packs(): IterableIterator<IndexedPack> {
    return this.packMap.values();
  }

  pack(id: string): IndexedPack | undefined {
    return this.packMap.get(id);
  }

  get blobCount(): number {
    return this.blobs.size;
  }

  get packCount(): number {
    return this.packMap.size;
  }
}
