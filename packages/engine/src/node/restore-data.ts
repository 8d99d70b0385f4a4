/**
 * The data of a restore, pack range by pack range (restore-plan.ts): each range is read in one
 * go into the shared ring, its blob frames are opened and verified by a pack worker in place,
 * and the verified plaintexts are written to every file position that needs them — adjacent
 * blobs of one file (a database's pages) in one write. Several ranges are in flight, so the
 * disk reads the next while a worker decrypts this one and the writes of the last drain.
 */
import { CofferError } from '@coffer/core';
import { describeBlob, packName } from '../repo/pack.ts';
import { readRange } from '../repo/read-into.ts';
import type { Repository } from '../repo/repository.ts';
import { Limiter } from './limiter.ts';
import { OPEN_BLOB_BYTES } from './pack-protocol.ts';
import type { PackWorkers } from './pack-workers.ts';
import type { RestoreFiles } from './restore-files.ts';
import type { PackRange, PlannedBlobs } from './restore-plan.ts';
import { ALIGN, type SharedRing, alignUp } from './shared-ring.ts';

/**
 * Ranges being read, opened or written at once. With 2 MiB ranges (frames and plaintexts about
 * 5 MiB of ring each) six fit the ring: measured, 4 MiB ranges left only two in flight and the
 * read of one waiting for the writes of another.
 */
const IN_FLIGHT = 6;

export interface DataContext {
  readonly repository: Repository;
  readonly blobs: PlannedBlobs;
  readonly workers: PackWorkers;
  readonly ring: SharedRing;
  readonly files: RestoreFiles;
  readonly onBytes: (bytes: number) => void;
}

export async function restoreData(ctx: DataContext, ranges: readonly PackRange[]): Promise<void> {
  const slots = new Limiter(IN_FLIGHT);
  const running = new Set<Promise<void>>();
  for (const range of ranges) {
    if (allFailed(ctx, range)) continue;
    const release = await slots.acquire();
    const task = restoreRange(ctx, range).finally(release);
    running.add(task);
    void task.finally(() => running.delete(task));
  }
  await Promise.all(running);
}

/** Whether every file that needs this range has failed already (nothing left to write). */
function allFailed(ctx: DataContext, range: PackRange): boolean {
  for (const blob of range.blobs) for (const [file] of ctx.blobs.usesOf(blob)) if (!ctx.files.failed(file)) return false;
  return true;
}

/** Marks every file that needs `blob` failed. */
function failUses(ctx: DataContext, blob: number, message: string): void {
  for (const [file] of ctx.blobs.usesOf(blob)) ctx.files.fail(file, message);
}

async function restoreRange(ctx: DataContext, range: PackRange): Promise<void> {
  const name = packName(range.packId);
  // Direct reads want 4 KiB-aligned offsets and lengths: read a little around the range.
  const readStart = range.start - (range.start % ALIGN);
  const readLength = alignUp(range.end - readStart);
  const region = await ctx.ring.alloc(readLength + alignUp(range.plaintextBytes));
  try {
    let got: number;
    try {
      got = await readRange(ctx.repository.storage, name, readStart, ctx.ring.view(region, readLength), true);
    } catch (error) {
      const first = range.blobs[0] ?? 0;
      const message =
        error instanceof CofferError && error.code === 'E_STORAGE_NOT_FOUND'
          ? `E_INTEGRITY: pack ${range.packId} is missing (needed for ${describeBlob('data', ctx.blobs.id(first))})`
          : describeError(error);
      for (const blob of range.blobs) failUses(ctx, blob, message);
      return;
    }
    const request = new Uint8Array(OPEN_BLOB_BYTES * range.blobs.length);
    const view = new DataView(request.buffer);
    const outAt: number[] = [];
    let out = region + readLength;
    const { blobs } = ctx;
    for (let i = 0; i < range.blobs.length; i++) {
      const blob = range.blobs[i] as number;
      const base = i * OPEN_BLOB_BYTES;
      const frameAt = (blobs.offset[blob] as number) - readStart;
      const length = blobs.length[blob] as number;
      const raw = blobs.raw[blob] as number;
      request[base] = 0;
      request.set(blobs.id(blob), base + 1);
      view.setUint32(base + 33, region + frameAt);
      // A frame the read did not reach (a truncated pack) is given as empty: it fails to open.
      view.setUint32(base + 37, frameAt + length <= got ? length : 0);
      view.setUint32(base + 41, raw);
      view.setUint32(base + 45, out);
      outAt.push(out);
      out += raw;
    }
    const failures = await ctx.workers.open(range.salt, request, range.end - range.start);
    const failed = new Set<number>();
    for (const failure of failures) {
      const blob = range.blobs[failure.index];
      if (blob === undefined) continue;
      failed.add(failure.index);
      const where = `${describeBlob('data', ctx.blobs.id(blob))} in pack ${range.packId}`;
      failUses(ctx, blob, `${failure.code === 'E_FORMAT' ? 'E_FORMAT' : 'E_INTEGRITY'}: ${where} ${failure.message}`);
    }
    await writeRuns(ctx, range, outAt, failed);
  } finally {
    ctx.ring.free(region);
  }
}

interface Run {
  readonly file: number;
  readonly position: number;
  readonly from: number;
  length: number;
}

/** Writes the verified plaintexts; a file's blobs that follow each other go out in one write. */
async function writeRuns(ctx: DataContext, range: PackRange, outAt: readonly number[], failed: ReadonlySet<number>): Promise<void> {
  const open = new Map<number, Run>();
  const writes: Promise<void>[] = [];
  const flush = (run: Run): void => {
    writes.push(ctx.files.write(run.file, ctx.ring.view(run.from, run.length), run.position));
    ctx.onBytes(run.length);
  };
  const { blobs } = ctx;
  // Index loops and the use chain walked by hand: a range of database pages has a thousand blobs.
  for (let i = 0; i < range.blobs.length; i++) {
    if (failed.has(i)) continue;
    const blob = range.blobs[i] as number;
    const from = outAt[i] ?? 0;
    const raw = blobs.raw[blob] as number;
    for (let use = blobs.firstUse[blob] as number; use >= 0; use = blobs.useNext[use] as number) {
      const file = blobs.useFile[use] as number;
      const position = blobs.usePosition[use] as number;
      const run = open.get(file);
      if (run && run.position + run.length === position && run.from + run.length === from) {
        run.length += raw;
        continue;
      }
      if (run) flush(run);
      open.set(file, { file, position, from, length: raw });
    }
  }
  for (const run of open.values()) flush(run);
  await Promise.all(writes);
}

function describeError(error: unknown): string {
  return error instanceof CofferError ? `${error.code}: ${error.message}` : String(error);
}
