/**
 * Live databases (src/node/sqlite-live.ts): a database written to while it was read, or with a
 * write transaction open, is reported; a consistent copy through SQLite's backup API holds every
 * committed row — the write-ahead log's too — and shares its pages with the database file.
 */
import { lstat, mkdtemp, readFile, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { changedWhileRead, copyLiveDatabase } from '../src/node/sqlite-live.ts';

let work: string;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'coffer-sqlite-live-'));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

async function listed(path: string): Promise<{ path: string; size: number; mtime: string }> {
  const info = await stat(path, { bigint: true });
  return { path, size: Number(info.size), mtime: String(info.mtimeNs) };
}

const DATABASE = { kind: 'database', pageSize: 4096 } as const;

describe('a database in use', () => {
  test('no warning for a file left alone; a warning naming SQLite for one written meanwhile', async () => {
    const path = join(work, 'app.db');
    const db = new DatabaseSync(path);
    db.exec('CREATE TABLE t (v TEXT); INSERT INTO t VALUES (1);');
    const before = await listed(path);
    expect(await changedWhileRead(before, DATABASE)).toBeUndefined();
    db.exec("INSERT INTO t VALUES (randomblob(9000))");
    // Same second on coarse clocks: move the mtime explicitly so the test does not depend on timing.
    await utimes(path, new Date(), new Date(Date.now() + 5000));
    expect(await changedWhileRead(before, DATABASE)).toMatch(/SQLite database in use: it changed while it was being backed up/);
    expect(await changedWhileRead(before, undefined)).toMatch(/^changed while it was being backed up/);
    // An lstat the caller took in bulk (backup.ts) decides instead of a new one; a failed one counts as changed.
    const taken = await lstat(path, { bigint: true });
    expect(await changedWhileRead({ ...before, ...(await listed(path)) }, DATABASE, taken)).toBeUndefined();
    expect(await changedWhileRead({ ...before, ...(await listed(path)) }, DATABASE, Object.assign(new Error('gone'), { code: 'ENOENT' }))).toMatch(/it changed while it was being backed up/);
    expect(await changedWhileRead(before, DATABASE, taken)).toMatch(/it changed while it was being backed up/);
    db.close();
  });

  test('an open write transaction (a hot rollback journal) is reported even if the file looks unchanged', async () => {
    const path = join(work, 'app.db');
    const db = new DatabaseSync(path);
    db.exec('PRAGMA journal_mode=DELETE; CREATE TABLE t (v TEXT); INSERT INTO t VALUES (1);');
    const before = await listed(path);
    db.exec("BEGIN; UPDATE t SET v = 'x'; ");
    db.exec('PRAGMA cache_spill=1');
    db.exec("INSERT INTO t SELECT randomblob(4000) FROM t, t AS a, t AS b"); // enough to touch the file
    const journal = await stat(`${path}-journal`).catch(() => undefined);
    expect(journal?.size ?? 0).toBeGreaterThan(0);
    expect(await changedWhileRead({ ...before, size: (await listed(path)).size, mtime: (await listed(path)).mtime }, DATABASE)).toMatch(/write transaction was in progress/);
    db.exec('ROLLBACK');
    db.close();
  });

  test('copyLiveDatabase: every committed row, the log folded in, pages shared with the file', async () => {
    const path = join(work, 'app.db');
    const db = new DatabaseSync(path);
    db.exec('PRAGMA page_size=4096; PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; CREATE TABLE t (v BLOB);');
    db.exec('BEGIN');
    for (let i = 0; i < 200; i++) db.exec(`INSERT INTO t VALUES (randomblob(${String(500 + i)}))`);
    db.exec('COMMIT; PRAGMA wal_checkpoint(TRUNCATE);');
    db.exec('INSERT INTO t VALUES (randomblob(100))'); // committed, but only in the log
    const copy = join(work, 'copy.db');
    expect(await copyLiveDatabase(path, copy)).toBeGreaterThan(10);
    db.close();
    const restored = new DatabaseSync(copy, { readOnly: true });
    expect(restored.prepare('SELECT count(*) AS n FROM t').get()?.n).toBe(201);
    restored.close();
    // Pages other than the header page are the database's own, byte for byte.
    const [original, copied] = [await readFile(path), await readFile(copy)];
    let same = 0;
    for (let at = 4096; at < Math.min(original.length, copied.length); at += 4096) if (Buffer.compare(original.subarray(at, at + 4096), copied.subarray(at, at + 4096)) === 0) same++;
    expect(same).toBeGreaterThan(original.length / 4096 / 2);
  });
});
