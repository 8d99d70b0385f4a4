/**
 * The blob table keeps every (type, id) findable however it grew: one at a time, by reserve()
 * up front (as loading an index does), or by a reserve() that comes after rows exist.
 */
import { describe, expect, it } from 'vitest';
import { BlobTable } from '../src/repo/blob-table.ts';
import { noise } from './noise.ts';

function ids(seed: number, count: number): Uint8Array {
  return noise(seed, 32 * count);
}

function expectAll(table: BlobTable, all: Uint8Array, count: number): void {
  for (let i = 0; i < count; i++) {
    expect(table.find('data', all, 32 * i)).toBe(i);
    // The same id as a tree blob is another blob.
    expect(table.find('tree', all, 32 * i)).toBe(-1);
  }
}

describe('BlobTable', () => {
  it('finds every row after growing one add at a time', () => {
    const table = new BlobTable();
    const all = ids(1, 5000);
    for (let i = 0; i < 5000; i++) expect(table.add('data', all, 32 * i)).toEqual({ row: i, added: true });
    expectAll(table, all, 5000);
    expect(table.add('data', all, 32 * 17)).toEqual({ row: 17, added: false });
  });

  it('finds every row after reserving up front, and grows past the reservation', () => {
    const table = new BlobTable();
    const all = ids(2, 6000);
    table.reserve(4000);
    for (let i = 0; i < 6000; i++) table.add('data', all, 32 * i);
    expectAll(table, all, 6000);
    expect(table.size).toBe(6000);
  });

  it('keeps the rows it has when a reservation comes later', () => {
    const table = new BlobTable();
    const all = ids(3, 3000);
    for (let i = 0; i < 1000; i++) table.add('data', all, 32 * i);
    table.reserve(3000);
    for (let i = 1000; i < 3000; i++) table.add('data', all, 32 * i);
    expectAll(table, all, 3000);
    expect(table.idOf(2999)).toEqual(all.subarray(32 * 2999, 32 * 3000));
  });
});
