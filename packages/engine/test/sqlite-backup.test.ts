/**
 * Backing up a messenger's SQLite database at page granularity, end to end: a day of random-key
 * inserts adds about the pages that changed (not the whole file), every snapshot restores byte for
 * byte, a write-ahead log next to the database restores with it, and forget + prune + check keep
 * what they must. The databases are real ones, written through node:sqlite.
 */
import { randomUUID } from 'node:crypto';
import { utimesSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { fromHex, generateRecoveryKey, type UnlockSecret } from '@coffer/core';
import { backup } from '../src/node/backup.ts';
import { nodeBulkCrypto } from '../src/node/node-crypto.ts';
import { restoreSnapshot } from '../src/node/restore.ts';
import { zstdCodec } from '../src/node/zstd-codec.ts';
import { checkRepository } from '../src/repo/check.ts';
import { expandContentList } from '../src/repo/content-list.ts';
import { planForget } from '../src/repo/forget.ts';
import { prune } from '../src/repo/prune.ts';
import { Repository } from '../src/repo/repository.ts';
import type { StoredSnapshot } from '../src/repo/snapshot.ts';
import { decodeTree } from '../src/repo/tree.ts';
import { MemoryStorage } from '../src/storage/memory.ts';

const PAGE = 4096;
const secret: UnlockSecret = { type: 'recovery-key', recoveryKey: generateRecoveryKey() };
const first = { description: { type: 'recovery-key' as const, metadata: { label: 'Recovery key', createdAt: 0, lastUsedAt: 0 } }, secret };
const options = { codec: zstdCodec(), bulkCrypto: nodeBulkCrypto, packSize: 1024 * 1024, params: { chunker: { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 } } };

let work: string;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'coffer-sqlite-backup-'));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

/** Messages keyed by a random UUID with a UNIQUE index: new rows land on index pages all over the file. */
function open(path: string, wal = false): DatabaseSync {
  const db = new DatabaseSync(path);
  db.exec(`PRAGMA page_size=${String(PAGE)}; PRAGMA journal_mode=${wal ? 'WAL' : 'DELETE'}; PRAGMA synchronous=OFF;`);
  db.exec('CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY, key_id TEXT NOT NULL UNIQUE, body TEXT)');
  return db;
}

function insert(db: DatabaseSync, count: number, perTransaction: number): void {
  const statement = db.prepare('INSERT INTO messages (key_id, body) VALUES (?, ?)');
  db.exec('BEGIN');
  for (let i = 1; i <= count; i++) {
    statement.run(randomUUID(), `message ${String(i)} ${'lorem ipsum '.repeat(i % 9)}`);
    if (i % perTransaction === 0) db.exec('COMMIT; BEGIN');
  }
  db.exec('COMMIT');
}

/** Pages of `after` that are not byte-identical to a page anywhere in `before`. */
function newPages(before: Uint8Array, after: Uint8Array): number {
  const seen = new Set<string>();
  for (let at = 0; at < before.length; at += PAGE) seen.add(Buffer.from(before.subarray(at, at + PAGE)).toString('base64'));
  const fresh = new Set<string>();
  for (let at = 0; at < after.length; at += PAGE) {
    const page = Buffer.from(after.subarray(at, at + PAGE)).toString('base64');
    if (!seen.has(page)) fresh.add(page);
  }
  return fresh.size;
}

async function restoredFile(repository: Repository, snapshot: StoredSnapshot, dir: string, path: string): Promise<Buffer> {
  const target = join(work, dir);
  const report = await restoreSnapshot(repository, snapshot, target);
  expect(report.failures).toEqual([]);
  return readFile(join(target, path));
}

describe('an SQLite database backed up by pages', () => {
  test('the next day adds about the changed pages; both days restore byte for byte', async () => {
    const source = join(work, 'phone');
    await mkdir(source);
    const dbPath = join(source, 'msgstore.db');
    const db = open(dbPath);
    insert(db, 20_000, 5000);
    const day1 = await readFile(dbPath);
    const repository = await Repository.init(new MemoryStorage(), first, options);
    const one = await backup(repository, [source], { host: 'test' });

    // The file's node names a content list, one data blob per page.
    const root = decodeTree(await repository.loadBlob('tree', fromHex(one.snapshot.snapshot.tree)), 'root');
    const dir = decodeTree(await repository.loadBlob('tree', fromHex(root.nodes[0]?.subtree ?? '')), 'dir');
    const node = dir.nodes.find((n) => n.name === 'msgstore.db');
    expect(node?.content).toBeUndefined();
    expect((await expandContentList(repository, node?.contentList ?? '')).length).toBe(day1.length / PAGE);

    insert(db, 200, 8); // 1 % more messages, committed a few at a time as a phone syncs them
    db.close();
    const day2 = await readFile(dbPath);
    const fresh = newPages(day1, day2);
    expect(fresh).toBeGreaterThan(20);
    const two = await backup(repository, [source], { host: 'test' });
    const added = two.snapshot.snapshot.summary.addedBytes;
    // The changed pages, plus the lists that name them and two small trees.
    expect(added).toBeGreaterThanOrEqual(fresh * PAGE);
    expect(added).toBeLessThan(fresh * PAGE * 1.15 + 16 * 1024);
    expect(added).toBeLessThan(day2.length / 4);

    expect(Buffer.compare(await restoredFile(repository, one.snapshot, 'r1', 'phone/msgstore.db'), day1)).toBe(0);
    expect(Buffer.compare(await restoredFile(repository, two.snapshot, 'r2', 'phone/msgstore.db'), day2)).toBe(0);
    expect((await checkRepository(repository, { readData: true })).problems).toEqual([]);
  });

  test('a database with its write-ahead log restores as a pair SQLite opens, log pages shared with the checkpointed file', async () => {
    const live = join(work, 'live');
    await mkdir(live);
    const db = open(join(live, 'app.db'), true);
    db.exec('PRAGMA wal_autocheckpoint=0');
    insert(db, 3000, 100);
    // A copy of the pair as it stands: the log holds every commit, the file none of them yet.
    const source = join(work, 'copy');
    await mkdir(source);
    await copyFile(join(live, 'app.db'), join(source, 'app.db'));
    await copyFile(join(live, 'app.db-wal'), join(source, 'app.db-wal'));
    const repository = await Repository.init(new MemoryStorage(), first, options);
    const one = await backup(repository, [source]);
    const target = join(work, 'restored');
    expect((await restoreSnapshot(repository, one.snapshot, target)).failures).toEqual([]);
    for (const name of ['app.db', 'app.db-wal']) expect(Buffer.compare(await readFile(join(target, 'copy', name)), await readFile(join(source, name))), name).toBe(0);
    const restored = new DatabaseSync(join(target, 'copy', 'app.db'));
    expect(restored.prepare('SELECT count(*) AS n FROM messages').get()?.n).toBe(3000);
    restored.close();

    // After a checkpoint the file holds the pages the log held: the next backup finds them stored.
    db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    db.close();
    await copyFile(join(live, 'app.db'), join(source, 'app.db'));
    await rm(join(source, 'app.db-wal'));
    const fileBytes = (await readFile(join(source, 'app.db'))).length;
    const two = await backup(repository, [source]);
    expect(two.snapshot.snapshot.summary.addedBytes).toBeLessThan(fileBytes / 4);
  });

  test('forget and prune keep every kept snapshot restorable; check finds every list and page', async () => {
    const source = join(work, 'phone');
    await mkdir(source);
    const dbPath = join(source, 'msgstore.db');
    const db = open(dbPath);
    const repository = await Repository.init(new MemoryStorage(), first, options);
    const versions: { snapshot: StoredSnapshot; bytes: Buffer }[] = [];
    for (let day = 0; day < 4; day++) {
      insert(db, day === 0 ? 8000 : 300, 10);
      if (day === 2) db.exec('DELETE FROM messages WHERE id % 3 = 0');
      const { snapshot } = await backup(repository, [source], { now: () => new Date(Date.UTC(2026, 0, 1 + day)) });
      versions.push({ snapshot, bytes: await readFile(dbPath) });
    }
    db.close();
    const plan = planForget(await repository.snapshots(), { keepLast: 2 });
    for (const s of plan.remove) await repository.storage.delete(s.name);
    const report = await prune(repository, { maxUnused: 0 });
    expect(report.packsDeleted).toBeGreaterThan(0);
    await repository.reloadIndex();
    expect((await checkRepository(repository, { readData: true })).problems).toEqual([]);
    for (const [i, version] of versions.slice(2).entries()) {
      expect(Buffer.compare(await restoredFile(repository, version.snapshot, `kept${String(i)}`, 'phone/msgstore.db'), version.bytes)).toBe(0);
    }
  });

  test('a database written to during the backup is in the snapshot as read, and named in a warning', async () => {
    const source = join(work, 'phone');
    await mkdir(source);
    const dbPath = join(source, 'msgstore.db');
    const db = open(dbPath);
    insert(db, 2000, 2000);
    const repository = await Repository.init(new MemoryStorage(), first, options);
    let written = false;
    const report = await backup(repository, [source], {
      // Progress comes while the file is being read: the app commits right then.
      onProgress: () => {
        if (written) return;
        written = true;
        insert(db, 50, 50);
        utimesSync(dbPath, new Date(), new Date(Date.now() + 60_000));
      },
    });
    db.close();
    expect(written).toBe(true);
    expect(report.warnings.map((w) => w.path)).toEqual([dbPath]);
    expect(report.warnings[0]?.message).toMatch(/SQLite database in use/);
    const quiet = await backup(repository, [source]);
    expect(quiet.warnings).toEqual([]);
  });

  test('check names a missing list, and restore refuses the file instead of writing a short one', async () => {
    const source = join(work, 'phone');
    await mkdir(source);
    const db = open(join(source, 'msgstore.db'));
    insert(db, 20_000, 20_000);
    db.close();
    const storage = new MemoryStorage();
    // Small packs, so the content lists (written before the directory trees) fill packs of their own.
    const repository = await Repository.init(storage, first, { ...options, packSize: 16 * 1024 });
    const { snapshot } = await backup(repository, [source]);
    const fullList = 8 + 32 * 32;
    const listPack = [...repository.index.packs].find((pack) => pack.entries.every((e) => e.type === 'tree' && e.rawLength === fullList));
    expect(listPack).toBeDefined();
    await storage.delete(`data/${listPack?.id.slice(0, 2) ?? ''}/${listPack?.id ?? ''}`);
    const check = await checkRepository(repository);
    expect(check.problems.some((p) => p.severity === 'error')).toBe(true);
    const report = await restoreSnapshot(repository, snapshot, join(work, 'r'));
    expect(report.failures.map((f) => f.path)).toEqual(['/phone/msgstore.db']);
  });
});
