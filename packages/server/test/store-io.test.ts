/**
 * The store's fast paths, checked directly: small bodies gathered and written
 * at once (exact lengths enforced, nothing left behind), small reads through
 * pooled buffers (no stale bytes from an earlier object ever sent), and
 * SQLite's group-committed WAL (commits resolve only after the WAL fsync, many
 * at once, and a failed statement still fails).
 */
import { readdir, mkdtemp, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openSqlite } from '../src/db/sqlite.ts';
import { BodyLengthError } from '../src/store/blob-store.ts';
import { LocalBlobStore } from '../src/store/local-blob-store.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'coffer-store-io-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const key = (n: number): string => n.toString(16).padStart(32, '0');
/** A body arriving in socket-sized pieces. */
const pieces = (bytes: Buffer, size = 65_536): Readable => Readable.from(Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => bytes.subarray(i * size, (i + 1) * size)));
async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

describe('local blobs: small bodies in one write, small reads through pooled buffers', () => {
  test('exact bodies round-trip, whole and by range; wrong lengths fail and leave no file', async () => {
    const store = new LocalBlobStore(join(dir, 'blobs'));
    const body = Buffer.alloc(1024 * 1024, 0x61);
    body.write('start', 0);
    await store.write(key(1), pieces(body), body.length);
    const whole = await store.readSmall(key(1), { offset: 0, length: body.length });
    expect(whole?.bytes.equals(body)).toBe(true);
    whole?.release();
    const part = await store.readSmall(key(1), { offset: 2, length: 3 });
    expect(part?.bytes.toString()).toBe('art');
    part?.release();
    expect(await store.readSmall(key(1), { offset: 0, length: 1024 * 1024 + 1 })).toBeUndefined();

    await expect(store.write(key(2), pieces(Buffer.alloc(11)), 10)).rejects.toBeInstanceOf(BodyLengthError);
    await expect(store.write(key(3), pieces(Buffer.alloc(9)), 10)).rejects.toBeInstanceOf(BodyLengthError);
    const files = (await readdir(join(dir, 'blobs'), { recursive: true })).filter((f) => f.includes('0000'));
    expect(files).toEqual([join('00', key(1))]);
  });

  test('a reused buffer never shows an earlier object: a short blob fails instead', async () => {
    const store = new LocalBlobStore(join(dir, 'reuse'));
    const secret = Buffer.alloc(4096, 0x73);
    await store.write(key(4), pieces(secret), secret.length);
    const first = await store.readSmall(key(4), { offset: 0, length: secret.length });
    first?.release();
    // The catalogue says 4096 bytes, the file holds 10: the pooled buffer still holds the secret.
    await store.write(key(5), pieces(Buffer.alloc(4096, 0x62)), 4096);
    await truncate(join(dir, 'reuse', '00', key(5)), 10);
    await expect(store.readSmall(key(5), { offset: 0, length: 4096 })).rejects.toThrow(/ended after 10 of 4096/);
    const ok = await store.readSmall(key(4), { offset: 0, length: 10 });
    expect(ok?.bytes).toEqual(Buffer.alloc(10, 0x73));
  });

  test('bodies over the pooled size still stream', async () => {
    const store = new LocalBlobStore(join(dir, 'big'));
    const body = Buffer.alloc(3 * 1024 * 1024 + 5, 0x7a);
    await store.write(key(6), pieces(body), body.length);
    expect((await drain(await store.read(key(6)))).equals(body)).toBe(true);
  });
});

describe('SQLite: WAL synced after commit, shared by concurrent commits', () => {
  test('runs in WAL mode; concurrent transactions all commit, in order, and are on disk when they resolve', async () => {
    const path = join(dir, 'wal.sqlite');
    const db = openSqlite(path);
    await db.run('CREATE TABLE t (n INTEGER PRIMARY KEY)');
    expect(await db.one('PRAGMA journal_mode')).toEqual({ journal_mode: 'wal' });
    const done = await Promise.all(Array.from({ length: 50 }, (_, n) => db.transaction(async (tx) => tx.run('INSERT INTO t (n) VALUES (?)', [n]))));
    expect(done).toEqual(Array.from({ length: 50 }, () => 1));
    // Another connection (as after a restart) sees every resolved commit.
    const other = new DatabaseSync(path);
    expect(other.prepare('SELECT COUNT(*) AS c FROM t').get()).toEqual({ c: 50 });
    other.close();
    await expect(db.run('INSERT INTO t (n) VALUES (?)', [1])).rejects.toThrow(/UNIQUE/);
    await expect(db.transaction(async (tx) => tx.run('INSERT INTO t (n) VALUES (?)', [1]))).rejects.toThrow(/UNIQUE/);
    expect(await db.one('SELECT COUNT(*) AS c FROM t')).toEqual({ c: 50 });
    await db.close();
  });

  test('in memory (no WAL file) it still commits', async () => {
    const db = openSqlite(':memory:');
    await db.run('CREATE TABLE t (n INTEGER)');
    await db.transaction((tx) => tx.run('INSERT INTO t (n) VALUES (1)'));
    expect(await db.one('SELECT n FROM t')).toEqual({ n: 1 });
    await db.close();
  });
});
