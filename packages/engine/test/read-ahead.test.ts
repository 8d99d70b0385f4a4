/**
 * The backup's read-ahead (read-ahead.ts) on both of its paths: asynchronous reads in flight
 * across files, and whole small files read in batches on the small-file reader's thread
 * (small-files.ts). Both must hand out the same bytes, in order, whatever happened to a file
 * since the walk saw it, and neither may stall when the budget or the ring runs short.
 */
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { appendFile, truncate, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { type FileToRead, ReadAhead, type ReadAheadOptions } from '../src/node/read-ahead.ts';
import { SharedRing } from '../src/node/shared-ring.ts';
import { tempDirPerTest } from './fixtures.ts';

const dir = tempDirPerTest('coffer-read-ahead-');

const PIECE = 64 * 1024;
const SMALL = 16 * 1024;

interface Outcome {
  readonly bytes?: Buffer;
  readonly lasts?: number;
  readonly error?: string;
}

/** Reads every file through a ReadAhead, holding each file's pieces until it is done (as a backup does while chunks are sealed). */
async function readAll(files: readonly FileToRead[], options: Partial<ReadAheadOptions>, ringBytes = 1024 * 1024): Promise<{ outcomes: Outcome[]; thread: boolean }> {
  const ring = new SharedRing(ringBytes);
  const reader = new ReadAhead(ring, files, { pieceBytes: PIECE, aheadBytes: 256 * 1024, reads: 4, ...options });
  const outcomes: Outcome[] = [];
  try {
    for (const [i] of files.entries()) {
      const parts: Buffer[] = [];
      let lasts = 0;
      const held = [];
      try {
        for await (const piece of reader.pieces(i)) {
          parts.push(Buffer.from(piece.bytes));
          if (piece.last) lasts++;
          held.push(piece);
        }
        outcomes.push({ bytes: Buffer.concat(parts), lasts });
      } catch (error) {
        outcomes.push({ error: (error as NodeJS.ErrnoException).code ?? String(error) });
      } finally {
        for (const piece of held) reader.release(piece);
      }
    }
  } finally {
    await reader.close();
  }
  return { outcomes, thread: reader.usesSmallFileThread };
}

async function makeFiles(sizes: readonly number[]): Promise<{ files: FileToRead[]; contents: Buffer[] }> {
  const files: FileToRead[] = [];
  const contents: Buffer[] = [];
  for (const [i, size] of sizes.entries()) {
    const path = join(dir.path, `f${String(i)}`);
    const bytes = randomBytes(size);
    await writeFile(path, bytes);
    files.push({ path, size });
    contents.push(bytes);
  }
  return { files, contents };
}

/** Mostly small files, with empty ones, one at the threshold and larger ones (several pieces) between them. */
function mixedSizes(): number[] {
  const sizes: number[] = [];
  for (let i = 0; i < 150; i++) sizes.push(i % 37 === 0 ? 0 : i % 29 === 0 ? SMALL : i % 41 === 0 ? 3 * PIECE + 17 : 1 + ((i * 7919) % (SMALL - 1)));
  return sizes;
}

describe('read-ahead', () => {
  test.each([
    ['asynchronous reads only', 0],
    ['small files on their thread', SMALL],
  ])('%s: every file whole, in order, its end marked once', async (_name, smallBytes) => {
    const { files, contents } = await makeFiles(mixedSizes());
    const { outcomes, thread } = await readAll(files, { smallBytes });
    expect(thread).toBe(smallBytes > 0);
    for (const [i, outcome] of outcomes.entries()) {
      expect(outcome.error, files[i]?.path).toBeUndefined();
      expect(Buffer.compare(outcome.bytes ?? Buffer.alloc(0), contents[i] ?? Buffer.alloc(0)), files[i]?.path).toBe(0);
      // An empty file yields no piece; every other file ends with exactly one piece marked last.
      expect(outcome.lasts).toBe((contents[i]?.length ?? 0) === 0 ? 0 : 1);
    }
  });

  test.each([0, SMALL])('files changed since the walk are read as they are now (small files below %i bytes on the thread)', async (smallBytes) => {
    const { files, contents } = await makeFiles(Array.from({ length: 80 }, (_, i) => 1000 + i));
    // Grown past the walked size (read on past the batch), shrunk, emptied, gone.
    const grown = randomBytes(3 * PIECE);
    await appendFile(files[3]?.path ?? '', grown);
    contents[3] = Buffer.concat([contents[3] ?? Buffer.alloc(0), grown]);
    await truncate(files[5]?.path ?? '', 10);
    contents[5] = contents[5]?.subarray(0, 10) ?? Buffer.alloc(0);
    await truncate(files[6]?.path ?? '', 0);
    await unlink(files[7]?.path ?? '');
    const { outcomes } = await readAll(files, { smallBytes });
    expect(outcomes[7]).toEqual({ error: 'ENOENT' });
    expect(outcomes[6]).toEqual({ bytes: Buffer.alloc(0), lasts: 0 });
    for (const i of [0, 3, 5, 79]) expect(Buffer.compare(outcomes[i]?.bytes ?? Buffer.alloc(0), contents[i] ?? Buffer.alloc(0)), String(i)).toBe(0);
    expect(outcomes[3]?.lasts).toBe(1);
  });

  test('a budget of one file at a time and a ring barely larger still read every small file', async () => {
    const { files, contents } = await makeFiles(Array.from({ length: 200 }, (_, i) => 3000 + i));
    // Each file costs a 4 KiB region: the batch must go before the producer waits for room.
    const { outcomes, thread } = await readAll(files, { smallBytes: SMALL, aheadBytes: 4096 }, 2 * PIECE + 8192);
    expect(thread).toBe(true);
    for (const [i, outcome] of outcomes.entries()) expect(Buffer.compare(outcome.bytes ?? Buffer.alloc(0), contents[i] ?? Buffer.alloc(0))).toBe(0);
  });

  test('a FIFO put where the walk saw a small file fails (positioned reads: ESPIPE) instead of hanging the reader', async () => {
    const { files, contents } = await makeFiles(Array.from({ length: 70 }, () => 500));
    const fifo = files[10]?.path ?? '';
    await unlink(fifo);
    execFileSync('mkfifo', [fifo]);
    const { outcomes } = await readAll(files, { smallBytes: SMALL });
    expect(outcomes[10]).toEqual({ error: 'ESPIPE' });
    expect(Buffer.compare(outcomes[11]?.bytes ?? Buffer.alloc(0), contents[11] ?? Buffer.alloc(0))).toBe(0);
  });

  test('too few small files do not start the thread', async () => {
    const { files } = await makeFiles(Array.from({ length: 20 }, () => 100));
    const { outcomes, thread } = await readAll(files, { smallBytes: SMALL });
    expect(thread).toBe(false);
    expect(outcomes.every((o) => o.bytes?.length === 100)).toBe(true);
  });

  test('closing with files not yet taken leaves nothing behind', async () => {
    const { files } = await makeFiles(Array.from({ length: 300 }, () => 2000));
    const ring = new SharedRing(1024 * 1024);
    const reader = new ReadAhead(ring, files, { pieceBytes: PIECE, aheadBytes: 256 * 1024, reads: 4, smallBytes: SMALL });
    for await (const piece of reader.pieces(0)) reader.release(piece);
    await reader.close();
    // Every region came back: the whole ring is free again.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(ring.tryAlloc(ring.size)).toBe(0);
  });
});
