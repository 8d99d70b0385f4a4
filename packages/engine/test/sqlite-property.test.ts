/**
 * Property: whatever happens to an SQLite file between backups — pages rewritten, pages inserted
 * or appended, the file truncated (at a page boundary or not, even below its header), pages copied
 * or an older version put back — each of 50 successive snapshots restores byte for byte, and so
 * does every snapshot kept after forget and prune. The file starts as a real database's header
 * (written by node:sqlite) followed by random pages, so page chunking, content lists and the
 * general chunker (once the header is gone) all take their turn.
 */
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { generateRecoveryKey, type UnlockSecret } from '@coffer/core';
import { backup } from '../src/node/backup.ts';
import { nodeBulkCrypto } from '../src/node/node-crypto.ts';
import { restoreSnapshot } from '../src/node/restore.ts';
import { zstdCodec } from '../src/node/zstd-codec.ts';
import { checkRepository } from '../src/repo/check.ts';
import { prune } from '../src/repo/prune.ts';
import { Repository } from '../src/repo/repository.ts';
import type { StoredSnapshot } from '../src/repo/snapshot.ts';
import { MemoryStorage } from '../src/storage/memory.ts';

const SNAPSHOTS = 50;
const secret: UnlockSecret = { type: 'recovery-key', recoveryKey: generateRecoveryKey() };
const first = { description: { type: 'recovery-key' as const, metadata: { label: 'Recovery key', createdAt: 0, lastUsedAt: 0 } }, secret };
const options = { codec: zstdCodec(), bulkCrypto: nodeBulkCrypto, packSize: 256 * 1024, params: { chunker: { min: 2048, avg: 8192, max: 32768 } } };

type Op =
  | { kind: 'edit'; page: number; seed: number }
  | { kind: 'insert'; page: number; count: number; seed: number }
  | { kind: 'append'; count: number; seed: number }
  | { kind: 'truncate'; fraction: number; aligned: boolean }
  | { kind: 'copy'; from: number; to: number }
  | { kind: 'revert'; back: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('edit' as const), page: fc.nat(), seed: fc.integer() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('insert' as const), page: fc.nat(), count: fc.integer({ min: 1, max: 5 }), seed: fc.integer() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('append' as const), count: fc.integer({ min: 1, max: 12 }), seed: fc.integer() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('truncate' as const), fraction: fc.double({ min: 0, max: 1, noNaN: true }), aligned: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('copy' as const), from: fc.nat(), to: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('revert' as const), back: fc.integer({ min: 1, max: 10 }) }) },
);

function randomPages(count: number, pageSize: number, seed: number): Uint8Array {
  const out = new Uint8Array(count * pageSize);
  let x = seed | 0 || 1;
  // Half-random pages compress a little, like real ones with free space.
  for (let i = 0; i < out.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = i % pageSize < pageSize / 2 ? x & 0xff : 0;
  }
  return out;
}

/** A plain Uint8Array (Buffer#slice would alias, and history must not change). */
function join8(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

function apply(file: Uint8Array, o: Op, pageSize: number, history: readonly Uint8Array[]): Uint8Array {
  const pages = Math.ceil(file.length / pageSize);
  switch (o.kind) {
    case 'edit': {
      if (pages === 0) return file;
      const out = file.slice();
      const at = (o.page % pages) * pageSize;
      out.set(randomPages(1, pageSize, o.seed).subarray(0, Math.min(pageSize, out.length - at)), at);
      return out;
    }
    case 'insert': {
      const at = Math.min(file.length, (o.page % (pages + 1)) * pageSize);
      return join8(file.subarray(0, at), randomPages(o.count, pageSize, o.seed), file.subarray(at));
    }
    case 'append':
      return join8(file, randomPages(o.count, pageSize, o.seed));
    case 'truncate': {
      const length = Math.floor(file.length * o.fraction);
      return file.slice(0, o.aligned ? length - (length % pageSize) : length);
    }
    case 'copy': {
      if (pages < 2) return file;
      const out = file.slice();
      const from = (o.from % pages) * pageSize;
      const to = (o.to % pages) * pageSize;
      const page = file.slice(from, Math.min(from + pageSize, file.length));
      out.set(page.subarray(0, Math.min(page.length, out.length - to)), to);
      return out;
    }
    case 'revert':
      return history[Math.max(0, history.length - o.back)] ?? file;
  }
}

/** The first page of a real database with this page size: its header makes the file SQLite. */
async function realHeaderPage(dir: string, pageSize: number): Promise<Uint8Array> {
  const path = join(dir, `header-${String(pageSize)}.db`);
  const db = new DatabaseSync(path);
  db.exec(`PRAGMA page_size=${String(pageSize)}; CREATE TABLE IF NOT EXISTS t (x);`);
  db.close();
  return (await readFile(path)).subarray(0, pageSize);
}

describe('property: an SQLite file through 50 snapshots', () => {
  test('every snapshot restores byte for byte, before and after forget + prune', async () => {
    const work = await mkdtemp(join(tmpdir(), 'coffer-sqlite-property-'));
    try {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(512, 1024, 4096), fc.integer({ min: 20, max: 80 }), fc.integer(), fc.array(op, { minLength: SNAPSHOTS - 1, maxLength: SNAPSHOTS - 1 }), async (pageSize, startPages, seed, ops) => {
          const source = join(work, 'source');
          await rm(source, { recursive: true, force: true });
          await rm(join(work, 'restored'), { recursive: true, force: true });
          await mkdir(source, { recursive: true });
          const path = join(source, 'msgstore.db');
          const repository = await Repository.init(new MemoryStorage(), first, options);
          let file = join8(await realHeaderPage(work, pageSize), randomPages(startPages, pageSize, seed));
          const history: Uint8Array[] = [];
          const snapshots: StoredSnapshot[] = [];
          for (let i = 0; i < SNAPSHOTS; i++) {
            if (i > 0) file = apply(file, ops[i - 1] as Op, pageSize, history);
            await writeFile(path, file);
            // A distinct mtime per version: equal size and mtime would let backup reuse the last node.
            await utimes(path, 1_700_000_000 + i, 1_700_000_000 + i);
            history.push(file);
            const { snapshot } = await backup(repository, [source], { now: () => new Date(Date.UTC(2026, 0, 1 + i)) });
            snapshots.push(snapshot);
          }
          const restoreAll = async (which: readonly number[], label: string): Promise<void> => {
            for (const i of which) {
              const target = join(work, 'restored', `${label}-${String(i)}`);
              expect((await restoreSnapshot(repository, snapshots[i] as StoredSnapshot, target)).failures).toEqual([]);
              expect(Buffer.compare(await readFile(join(target, 'source', 'msgstore.db')), history[i] as Uint8Array), `snapshot ${String(i)}`).toBe(0);
            }
          };
          await restoreAll([...Array(SNAPSHOTS).keys()], 'all');
          // Forget every snapshot but each fifth and the last, then prune hard.
          const kept = [...Array(SNAPSHOTS).keys()].filter((i) => i % 5 === 0 || i === SNAPSHOTS - 1);
          for (const [i, s] of snapshots.entries()) if (!kept.includes(i)) await repository.storage.delete(s.name);
          await prune(repository, { maxUnused: 0 });
          await repository.reloadIndex();
          expect((await checkRepository(repository)).problems).toEqual([]);
          await restoreAll(kept, 'kept');
        }),
        { numRuns: 2, seed: 50, endOnFailure: true },
      );
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }, 300_000);
});
