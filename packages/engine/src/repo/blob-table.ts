/**
 * A compact hash table from (blob type, blob id) to a row number. The index and the set of
 * blobs being written consult it once per chunk — 47,000 times for one 190 MB database cut into
 * pages — so it avoids what a Map<string, …> costs per blob: a hex string, a key object and a
 * hash of 70 characters. Ids are keyed MACs, uniformly distributed, so their first four bytes are
 * a good hash; equality still compares all 32 bytes.
 *
 * Rows are numbered 0, 1, 2… in insertion order; a caller keeps per-row data in its own arrays.
 */
import type { BlobType } from './blob.ts';

const ID_BYTES = 32;
const EMPTY = -1;

export class BlobTable {
  #ids = new Uint8Array(ID_BYTES * 64);
  #types = new Uint8Array(64);
  /** Open addressing with linear probing; each slot holds a row number or EMPTY. */
  #slots = new Int32Array(128).fill(EMPTY);
  #count = 0;

  get size(): number {
    return this.#count;
  }

  /** The row of (type, id), or −1. */
  find(type: BlobType, id: Uint8Array, at = 0): number {
    const code = typeCode(type);
    const mask = this.#slots.length - 1;
    for (let slot = hashOf(id, at, code) & mask; ; slot = (slot + 1) & mask) {
      const row = this.#slots[slot] as number;
      if (row === EMPTY) return -1;
      if (this.#types[row] === code && this.#sameId(row, id, at)) return row;
    }
  }

  /** Adds (type, id) unless present; returns its row and whether it was new. `id` may be 32 bytes at `at` of a longer array. */
  add(type: BlobType, id: Uint8Array, at = 0): { row: number; added: boolean } {
    const existing = this.find(type, id, at);
    if (existing >= 0) return { row: existing, added: false };
    if (2 * (this.#count + 1) > this.#slots.length) this.#grow();
    const row = this.#count++;
    if (row >= this.#types.length) this.#growRows();
    this.#ids.set(id.subarray(at, at + ID_BYTES), row * ID_BYTES);
    this.#types[row] = typeCode(type);
    this.#place(row);
    return { row, added: true };
  }

  /**
   * Makes room for `rows` rows in all, so that adding that many neither re-hashes the table nor
   * copies its rows as it grows (loading a 50,000-blob index grew it ten times over).
   */
  reserve(rows: number): void {
    let slots = this.#slots.length;
    while (2 * rows > slots) slots *= 2;
    if (slots > this.#slots.length) {
      this.#slots = new Int32Array(slots).fill(EMPTY);
      for (let row = 0; row < this.#count; row++) this.#place(row);
    }
    if (rows > this.#types.length) this.#growRows(rows);
  }

  /** The id of a row (a view: valid until the next add). */
  idOf(row: number): Uint8Array {
    return this.#ids.subarray(row * ID_BYTES, (row + 1) * ID_BYTES);
  }

  typeOf(row: number): BlobType {
    return this.#types[row] === 0 ? 'data' : 'tree';
  }

  #sameId(row: number, id: Uint8Array, at: number): boolean {
    const ids = this.#ids;
    const base = row * ID_BYTES;
    for (let i = 0; i < ID_BYTES; i++) if (ids[base + i] !== id[at + i]) return false;
    return true;
  }

  #place(row: number): void {
    const mask = this.#slots.length - 1;
    let slot = hashOf(this.#ids, row * ID_BYTES, this.#types[row] as number) & mask;
    while (this.#slots[slot] !== EMPTY) slot = (slot + 1) & mask;
    this.#slots[slot] = row;
  }

  #grow(): void {
    this.#slots = new Int32Array(this.#slots.length * 2).fill(EMPTY);
    for (let row = 0; row < this.#count; row++) this.#place(row);
  }

  #growRows(rows = 2 * this.#types.length): void {
    const ids = new Uint8Array(ID_BYTES * rows);
    ids.set(this.#ids);
    this.#ids = ids;
    const types = new Uint8Array(rows);
    types.set(this.#types);
    this.#types = types;
  }
}

function typeCode(type: BlobType): number {
  return type === 'data' ? 0 : 1;
}

function hashOf(bytes: Uint8Array, at: number, code: number): number {
  return ((bytes[at] as number) | ((bytes[at + 1] as number) << 8) | ((bytes[at + 2] as number) << 16) | ((bytes[at + 3] as number) << 24)) ^ code;
}
