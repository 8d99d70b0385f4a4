/**
 * SQLite-aware boundaries (src/chunker/sqlite.ts): recognition from the first bytes of real files
 * written by node:sqlite, page cuts for databases, page-and-frame cuts for write-ahead logs, and
 * for every other file exactly the cuts of the keyed content-defined chunker alone.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import fc from 'fast-check';
import { afterAll, describe, expect, test } from 'vitest';
import { Chunker, GearBoundaries, deriveChunkerParams } from '../src/chunker/chunker.ts';
import { SqliteAwareBoundaries, WalBoundaries, detectSqlite } from '../src/chunker/sqlite.ts';

const work = mkdtempSync(join(tmpdir(), 'coffer-sqlite-chunker-'));
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

/** A small database with `pageSize` pages; with `wal`, also the log as it stands before any checkpoint. */
function makeDatabase(name: string, pageSize: number, wal = false): { db: Uint8Array; wal?: Uint8Array } {
  const path = join(work, name);
  const db = new DatabaseSync(path);
  db.exec(`PRAGMA page_size=${String(pageSize)}; PRAGMA journal_mode=${wal ? 'WAL' : 'DELETE'}; PRAGMA wal_autocheckpoint=0; PRAGMA synchronous=OFF;`);
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT); CREATE INDEX t_body ON t(body);');
  const insert = db.prepare('INSERT INTO t (body) VALUES (?)');
  db.exec('BEGIN');
  for (let i = 0; i < 300; i++) insert.run(`row ${String(i)} ${'x'.repeat(i % 97)}`);
  db.exec('COMMIT');
  const out: { db: Uint8Array; wal?: Uint8Array } = { db: readFileSync(path) };
  if (wal) out.wal = readFileSync(`${path}-wal`);
  db.close();
  return out;
}

/** Chunk lengths of `data` fed in pieces of the given sizes (cycled). */
function chunkLengths(chunker: Chunker, data: Uint8Array, pieces: readonly number[] = [data.length]): number[] {
  const lengths: number[] = [];
  let at = 0;
  for (let i = 0; at < data.length; i++) {
    const size = Math.max(1, pieces[i % pieces.length] ?? 1);
    for (const chunk of chunker.push(data.subarray(at, at + size))) lengths.push(chunk.length);
    at += size;
  }
  for (const chunk of chunker.finish()) lengths.push(chunk.length);
  return lengths;
}

async function gear(): Promise<GearBoundaries> {
  const params = await deriveChunkerParams(new Uint8Array(32).fill(7), { min: 1024, avg: 4096, max: 16384 });
  return new GearBoundaries(params);
}

describe('recognising SQLite files', () => {
  test.each([512, 4096, 65536])('a database with %i-byte pages, and its write-ahead log', (pageSize) => {
    const files = makeDatabase(`db-${String(pageSize)}.sqlite`, pageSize, true);
    expect(detectSqlite(files.db)).toEqual({ kind: 'database', pageSize });
    expect(detectSqlite(files.wal ?? new Uint8Array())).toEqual({ kind: 'wal', pageSize });
  });

  test('asks for more bytes while a prefix could still be SQLite, and only then', () => {
    const { db, wal } = makeDatabase('prefix.sqlite', 1024, true);
    for (let n = 0; n < 24; n++) expect(detectSqlite(db.subarray(0, n))).toBe('more');
    for (let n = 0; n < 12; n++) expect(detectSqlite((wal ?? db).subarray(0, n))).toBe('more');
    expect(detectSqlite(new TextEncoder().encode('SQLite format 2'))).toBe('other');
    expect(detectSqlite(Uint8Array.of(0x37, 0x7f, 0x07))).toBe('other');
    expect(detectSqlite(new TextEncoder().encode('PK\x03\x04'))).toBe('other');
  });

  test('a page size SQLite cannot have, or odd payload fractions, make a file "other"', () => {
    const { db, wal } = makeDatabase('bad.sqlite', 4096, true);
    const withPageSize = (bytes: Uint8Array, at: number, value: number[]): Uint8Array => {
      const copy = bytes.slice(0, 64);
      copy.set(value, at);
      return copy;
    };
    expect(detectSqlite(withPageSize(db, 16, [0x03, 0x00]))).toBe('other'); // 768: not a power of two
    expect(detectSqlite(withPageSize(db, 16, [0x01, 0x00]))).toBe('other'); // 256: below 512
    expect(detectSqlite(withPageSize(db, 16, [0x00, 0x01]))).toEqual({ kind: 'database', pageSize: 65536 });
    expect(detectSqlite(withPageSize(db, 21, [65, 32, 32]))).toBe('other');
    const log = wal ?? db;
    expect(detectSqlite(withPageSize(log, 8, [0, 0, 0x03, 0]))).toBe('other');
    expect(detectSqlite(withPageSize(log, 8, [0, 2, 0, 0]))).toBe('other'); // 131072
    expect(detectSqlite(withPageSize(log, 4, [0, 0, 0, 1]))).toBe('other'); // format version
  });
});

describe('boundaries', () => {
  test('a database is cut at every page, however the stream is split', async () => {
    const { db } = makeDatabase('pages.sqlite', 1024);
    const expected = Array.from({ length: db.length / 1024 }, () => 1024);
    for (const pieces of [[db.length], [1], [5, 19, 1000], [23, 1], [4096, 3]]) {
      expect(chunkLengths(new Chunker(new SqliteAwareBoundaries(await gear())), db, pieces)).toEqual(expected);
    }
  });

  test('a write-ahead log is cut into its header with the first frame header, then page, frame header, page…', async () => {
    const { db, wal } = makeDatabase('frames.sqlite', 512, true);
    const log = wal ?? db;
    const frames = (log.length - 32) / (24 + 512);
    expect(Number.isInteger(frames) && frames > 2).toBe(true);
    const expected = [56, ...Array.from({ length: frames - 1 }, () => [512, 24]).flat(), 512];
    for (const pieces of [[log.length], [7, 5, 100], [1]]) {
      expect(chunkLengths(new Chunker(new SqliteAwareBoundaries(await gear())), log, pieces)).toEqual(expected);
    }
  });

  test('a page in the log and the same page checkpointed into the database are the same chunk', () => {
    const path = join(work, 'checkpoint.sqlite');
    const db = new DatabaseSync(path);
    db.exec('PRAGMA page_size=1024; PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; CREATE TABLE t (v TEXT);');
    db.exec("INSERT INTO t VALUES ('before')");
    db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    db.exec(`INSERT INTO t VALUES ('${'after'.repeat(50)}')`);
    const log = readFileSync(`${path}-wal`);
    db.exec('PRAGMA wal_checkpoint(PASSIVE)');
    const file = readFileSync(path);
    db.close();
    const chunks = (bytes: Uint8Array): string[] => {
      const chunker = new Chunker(new SqliteAwareBoundaries(new WalBoundaries(1024)));
      return [...chunker.push(bytes), ...chunker.finish()].map((c) => Buffer.from(c).toString('hex'));
    };
    const logPages = chunks(log).filter((c) => c.length === 2048);
    const dbPages = new Set(chunks(file));
    expect(logPages.length).toBeGreaterThan(0);
    // The last frame of each page is what the checkpoint copied.
    expect(logPages.filter((p) => dbPages.has(p)).length).toBeGreaterThan(0);
  });

  test('any other file gets exactly the content-defined cuts of the chunker alone', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 40_000 }), fc.array(fc.integer({ min: 1, max: 9000 }), { minLength: 1, maxLength: 8 }), async (data, pieces) => {
        const alone = chunkLengths(new Chunker(await gear()), data, pieces);
        const aware = new SqliteAwareBoundaries(await gear());
        const lengths = chunkLengths(new Chunker(aware), data, pieces);
        const detected = detectSqlite(data.subarray(0, 24));
        if (detected === 'other' || detected === 'more') expect(lengths).toEqual(alone);
      }),
      { numRuns: 60, seed: 6 },
    );
  });

  test('data that only starts like SQLite falls back to the general chunker, and short files stay one chunk', async () => {
    const fake = new Uint8Array(20_000).fill(1);
    fake.set(new TextEncoder().encode('SQLite format 3\0'));
    expect(chunkLengths(new Chunker(new SqliteAwareBoundaries(await gear())), fake, [3, 5000])).toEqual(chunkLengths(new Chunker(await gear()), fake, [3, 5000]));
    const short = new TextEncoder().encode('SQLite format');
    expect(chunkLengths(new Chunker(new SqliteAwareBoundaries(await gear())), short, [2])).toEqual([short.length]);
  });

  test('the policy forgets the last file at the end of a stream', async () => {
    const { db } = makeDatabase('reuse.sqlite', 2048);
    const policy = new SqliteAwareBoundaries(await gear());
    const chunker = new Chunker(policy);
    expect(new Set(chunkLengths(chunker, db))).toEqual(new Set([2048]));
    expect(policy.layout).toBeUndefined();
    const other = new Uint8Array(30_000).fill(3);
    expect(chunkLengths(chunker, other, [10_000])).toEqual(chunkLengths(new Chunker(await gear()), other, [10_000]));
  });
});
