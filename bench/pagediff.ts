/**
 * How much of an SQLite file really changed between two versions: the count of 4 KiB pages that
 * differ (pages past the end of the shorter file count as changed). This is the floor for what
 * any backup of the new version has to store, so repository growth is judged against it.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { PAGE_SIZE } from './messages.ts';

export interface PageDiff {
  pageSize: number;
  oldPages: number;
  newPages: number;
  changedPages: number;
  changedBytes: number;
}

export function pageDiff(oldDb: string, newDb: string, pageSize = PAGE_SIZE): PageDiff {
  const a = openSync(oldDb, 'r');
  const b = openSync(newDb, 'r');
  try {
    const oldSize = fstatSync(a).size;
    const newSize = fstatSync(b).size;
    const block = 1024 * pageSize; // 4 MiB reads: few syscalls, little memory
    const bufA = Buffer.alloc(block);
    const bufB = Buffer.alloc(block);
    let changed = 0;
    for (let pos = 0; pos < newSize; pos += block) {
      const nB = readSync(b, bufB, 0, block, pos);
      const nA = pos < oldSize ? readSync(a, bufA, 0, block, pos) : 0;
      for (let off = 0; off < nB; off += pageSize) {
        const end = Math.min(off + pageSize, nB);
        if (end > nA || bufA.compare(bufB, off, end, off, end) !== 0) changed++;
      }
    }
    return {
      pageSize,
      oldPages: Math.ceil(oldSize / pageSize),
      newPages: Math.ceil(newSize / pageSize),
      changedPages: changed,
      changedBytes: changed * pageSize,
    };
  } finally {
    closeSync(a);
    closeSync(b);
  }
}
