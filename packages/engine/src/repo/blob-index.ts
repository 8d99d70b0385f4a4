/**
 * The in-memory view of every index file (format.md §9.6): blob → location, pack → entries;
 * and the blobs being written, claimed but not yet in an index file.
 *
 * Compact, because it grows with the repository: a database cut into 4 KiB pages puts 256 blobs
 * per MiB into it. Locations live in typed arrays by row (blob-table.ts) and each pack keeps its
 * entries as the 45-byte records of its index file, so a blob costs about 100 bytes, not the
 * ≈400 of a Map entry, a key string and two objects. Entry objects are made only when asked for.
 */
import type { BlobType } from './blob.ts';
import { BlobTable } from './blob-table.ts';
import type { PackEntry } from './pack.ts';
import { ENTRY_BYTES, decodeEntries, encodeEntries } from './entries.ts';

/** A pack with its entries as they are encoded in an index file. */
export interface RawPack {
  readonly id: string;
  readonly salt: Uint8Array;
  /** ENTRY_BYTES per entry. */
  readonly entries: Uint8Array;
}

export interface IndexedPack {
  readonly id: string;
  readonly salt: Uint8Array;
  readonly entries: readonly PackEntry[];
}

export interface BlobLocation {
  readonly packId: string;
  readonly salt: Uint8Array;
  readonly entry: PackEntry;
}

/** Row state in #pack: a claimed blob has no pack yet. */
const CLAIMED = -1;

export class BlobIndex {
  readonly #table = new BlobTable();
  #pack = new Int32Array(1024);
  #offset = new Uint32Array(1024);
  #length = new Uint32Array(1024);
  #raw = new Uint32Array(1024);
  readonly #packs: RawPack[] = [];
  readonly #packNumbers = new Map<string, number>();
  #located = 0;
  /** Rows claimed and not yet located. */
  #claimedRows = 0;

  addPack(pack: IndexedPack): void {
    this.addRawPack({ id: pack.id, salt: pack.salt, entries: encodeEntries(pack.entries) });
  }

  /** Makes room for the blobs of `packs`, about to be added (see BlobTable.reserve). */
  reserveFor(packs: readonly RawPack[]): void {
    let rows = this.#table.size;
    for (const pack of packs) rows += pack.entries.length / ENTRY_BYTES;
    this.#table.reserve(rows);
    this.#ensure(rows - 1);
  }

  /** Adds a pack; the first location of a blob wins (duplicates from interrupted runs are harmless). */
  addRawPack(pack: RawPack): void {
    if (this.#packNumbers.has(pack.id)) return;
    const number = this.#packs.length;
    this.#packs.push(pack);
    this.#packNumbers.set(pack.id, number);
    const bytes = pack.entries;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let at = 0; at < bytes.length; at += ENTRY_BYTES) {
      const type: BlobType = bytes[at] === 0 ? 'data' : 'tree';
      const { row, added } = this.#table.add(type, bytes, at + 1);
      this.#ensure(row);
      if (!added && this.#pack[row] !== CLAIMED) continue;
      if (!added) this.#claimedRows--;
      this.#pack[row] = number;
      this.#offset[row] = view.getUint32(at + 33);
      this.#length[row] = view.getUint32(at + 37);
      this.#raw[row] = view.getUint32(at + 41);
      this.#located++;
    }
  }

  /** Whether an index file lists the blob. */
  has(type: BlobType, id: Uint8Array): boolean {
    const row = this.#table.find(type, id);
    return row >= 0 && (this.#pack[row] as number) >= 0;
  }

  /** Whether the blob is indexed or claimed by a writer. */
  known(type: BlobType, id: Uint8Array): boolean {
    return this.#table.find(type, id) >= 0;
  }

  /** Claims a blob for writing: true if no index file lists it and nobody claimed it before. */
  claim(type: BlobType, id: Uint8Array): boolean {
    const { row, added } = this.#table.add(type, id);
    if (!added) return false;
    this.#ensure(row);
    this.#pack[row] = CLAIMED;
    this.#claimedRows++;
    return true;
  }

  /** Blobs claimed and not yet in an index file. */
  get claimed(): number {
    return this.#claimedRows;
  }

  lookup(type: BlobType, id: Uint8Array): BlobLocation | undefined {
    const row = this.#table.find(type, id);
    const number = row < 0 ? CLAIMED : (this.#pack[row] as number);
    const pack = this.#packs[number];
    if (!pack) return undefined;
    return {
      packId: pack.id,
      salt: pack.salt,
      entry: { type, id: id.slice(), offset: this.#offset[row] as number, length: this.#length[row] as number, rawLength: this.#raw[row] as number },
    };
  }

  /** The row of an indexed blob, or −1: rows number blobs 0, 1, 2… for callers that keep per-blob data in arrays. */
  row(type: BlobType, id: Uint8Array): number {
    const row = this.#table.find(type, id);
    return row >= 0 && (this.#pack[row] as number) >= 0 ? row : -1;
  }

  /** The id of a row (a view: valid until the index next grows). */
  idAt(row: number): Uint8Array {
    return this.#table.idOf(row);
  }

  /** Rows in use (an upper bound for row numbers). */
  get rows(): number {
    return this.#table.size;
  }

  /** The pack of an indexed row, with the blob's frame offset and length in it and its plaintext length. */
  at(row: number): { readonly pack: RawPack; readonly offset: number; readonly length: number; readonly rawLength: number } {
    const pack = this.#packs[this.#pack[row] ?? -1];
    if (!pack) throw new Error(`row ${String(row)} is not indexed`);
    return { pack, offset: this.#offset[row] as number, length: this.#length[row] as number, rawLength: this.#raw[row] as number };
  }

  get packs(): IterableIterator<IndexedPack> {
    return (function* (packs: readonly RawPack[]): Generator<IndexedPack> {
      for (const pack of packs) yield materialize(pack);
    })(this.#packs);
  }

  pack(id: string): IndexedPack | undefined {
    const number = this.#packNumbers.get(id);
    const pack = number === undefined ? undefined : this.#packs[number];
    return pack && materialize(pack);
  }

  get blobCount(): number {
    return this.#located;
  }

  get packCount(): number {
    return this.#packs.length;
  }

  #ensure(row: number): void {
    if (row < this.#pack.length) return;
    let size = this.#pack.length * 2;
    while (row >= size) size *= 2;
    const grow = <T extends Int32Array | Uint32Array>(old: T, make: (n: number) => T): T => {
      const bigger = make(size);
      bigger.set(old);
      return bigger;
    };
    this.#pack = grow(this.#pack, (n) => new Int32Array(n));
    this.#offset = grow(this.#offset, (n) => new Uint32Array(n));
    this.#length = grow(this.#length, (n) => new Uint32Array(n));
    this.#raw = grow(this.#raw, (n) => new Uint32Array(n));
  }
}

function materialize(pack: RawPack): IndexedPack {
  return { id: pack.id, salt: pack.salt, entries: decodeEntries(pack.entries) };
}

