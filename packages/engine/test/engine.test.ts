/**
 * The engine end to end on real files: back up a tree, restore it byte for byte
 * with modes and times, dedup and reuse unchanged files, detect damage and
 * rollback, and keep every kept snapshot restorable through forget and prune.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, readdir, rm, stat, symlink, utimes, writeFile, chmod, lstat, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { CofferError, generateRecoveryKey } from '@coffer/core';
import { MemoryStorage } from '../src/storage/memory.ts';
import { type FreshnessState, Repository } from '../src/repo/repository.ts';
import { checkRepository } from '../src/repo/check.ts';
import { planForget } from '../src/repo/forget.ts';
import { prune } from '../src/repo/prune.ts';
import { packName } from '../src/repo/pack.ts';
import { backup } from '../src/node/backup.ts';
import { restoreSnapshot } from '../src/node/restore.ts';
import { zstdCodec } from '../src/node/zstd-codec.ts';
import { FileFreshnessStore } from '../src/node/freshness-file.ts';
import { LocalStorage } from '../src/node/local-storage.ts';
import { nodeBulkCrypto } from '../src/node/node-crypto.ts';
import { webBulkCrypto } from '../src/repo/bulk-crypto.ts';
import { first, params, secret, tempDirPerTest } from './fixtures.ts';
import { noise } from './noise.ts';

const dir = tempDirPerTest('coffer-engine-');
const options = { codec: zstdCodec(), packSize: 256 * 1024, params };

async function makeSource(root: string): Promise<void> {
  await mkdir(join(root, 'media', '2026'), { recursive: true });
  await mkdir(join(root, 'empty-dir'));
  await writeFile(join(root, 'messages.txt'), 'hello\n'.repeat(50_000));
  await writeFile(join(root, 'media', '2026', 'photo.jpg'), noise(1, 700_000));
  await writeFile(join(root, 'media', '2026', 'forwarded.jpg'), noise(1, 700_000)); // a duplicate forward
  await writeFile(join(root, 'media', 'video.mp4'), noise(2, 1_500_000));
  await writeFile(join(root, 'empty.txt'), '');
  await writeFile(join(root, 'secret.key'), 'private', { mode: 0o600 });
  await chmod(join(root, 'secret.key'), 0o600);
  await symlink('media/video.mp4', join(root, 'link-to-video'));
  await utimes(join(root, 'messages.txt'), new Date('2025-03-04T05:06:07.891Z'), new Date('2025-03-04T05:06:07.891Z'));
}

/** Compares two trees: names, types, contents, permission bits and mtimes (to the millisecond). */
async function expectSameTree(a: string, b: string): Promise<number> {
  let compared = 0;
  const names = (await readdir(a)).sort();
  expect((await readdir(b)).sort()).toEqual(names);
  for (const name of names) {
    const [sa, sb] = [await lstat(join(a, name)), await lstat(join(b, name))];
    expect(sb.mode, name).toBe(sa.mode);
    if (sa.isSymbolicLink()) {
      expect(await readlink(join(b, name))).toBe(await readlink(join(a, name)));
    } else {
      expect(Math.floor(sb.mtimeMs), name).toBe(Math.floor(sa.mtimeMs));
    }
    if (sa.isDirectory()) compared += await expectSameTree(join(a, name), join(b, name));
    else if (sa.isFile()) {
      expect(Buffer.compare(await readFile(join(a, name)), await readFile(join(b, name))), name).toBe(0);
      compared++;
    }
  }
  return compared;
}

describe('backup and restore', () => {
  test.each([
    ['memory storage, WebCrypto', () => new MemoryStorage(), webBulkCrypto],
    ['local storage, node:crypto', () => new LocalStorage(join(dir.path, 'repo')), nodeBulkCrypto],
  ])('round trip on %s: identical tree, modes and mtimes', async (_name, makeStorage, bulkCrypto) => {
    const source = join(dir.path, 'source');
    await makeSource(source);
    const repository = await Repository.init(makeStorage(), first, { ...options, bulkCrypto });
    const report = await backup(repository, [source], { host: 'test' });
    expect(report.unreadable).toEqual([]);
    expect(report.snapshot.snapshot.seq).toBe(1);
    // The duplicate forward is stored once.
    expect(report.snapshot.snapshot.summary.addedBytes).toBeLessThan(300_000 + 700_000 + 1_500_000 + 50_000);

    // Read back with the other implementation: both write and read the same bytes.
    const other = bulkCrypto === webBulkCrypto ? nodeBulkCrypto : webBulkCrypto;
    const reopened = await Repository.open(repository.storage, secret, { codec: zstdCodec(), bulkCrypto: other });
    const restored = await restoreSnapshot(reopened, await reopened.findSnapshot('latest'), join(dir.path, 'target'));
    expect(restored.failures).toEqual([]);
    expect(await expectSameTree(source, join(dir.path, 'target', 'source'))).toBe(6);
    const check = await checkRepository(reopened, { readData: true });
    expect(check.problems).toEqual([]);
    expect(check.blobsRead).toBeGreaterThan(10);
  });

  test('an unchanged re-run adds nothing; a changed file adds about its change', async () => {
    const source = join(dir.path, 'source');
    await makeSource(source);
    const repository = await Repository.init(new MemoryStorage(), first, options);
    await backup(repository, [source]);
    const again = await backup(repository, [source]);
    expect(again.snapshot.snapshot.summary.addedBytes).toBe(0);
    expect(again.snapshot.snapshot.seq).toBe(2);
    // Append to the big file: content-defined chunks before the change are reused.
    const video = join(source, 'media', 'video.mp4');
    await writeFile(video, Buffer.concat([await readFile(video), Buffer.from(noise(3, 10_000))]));
    const third = await backup(repository, [source]);
    expect(third.snapshot.snapshot.summary.addedBytes).toBeLessThan(600_000);
    expect(third.snapshot.snapshot.prev).toBe(again.snapshot.id);
  });

  test('include patterns restore a subset', async () => {
    const source = join(dir.path, 'source');
    await makeSource(source);
    const repository = await Repository.init(new MemoryStorage(), first, options);
    const { snapshot } = await backup(repository, [source]);
    await restoreSnapshot(repository, snapshot, join(dir.path, 'target'), { include: ['*.jpg'] });
    expect((await readdir(join(dir.path, 'target', 'source', 'media', '2026'))).sort()).toEqual(['forwarded.jpg', 'photo.jpg']);
    await expect(stat(join(dir.path, 'target', 'source', 'messages.txt'))).rejects.toThrow();
  });

  test('an entry that cannot be backed up is reported and the rest is backed up', async () => {
    const source = join(dir.path, 'source');
    await makeSource(source);
    // A FIFO is skipped and reported whoever runs the test; file permissions would not stop root.
    execFileSync('mkfifo', [join(source, 'pipe')]);
    const repository = await Repository.init(new MemoryStorage(), first, options);
    const report = await backup(repository, [source]);
    expect(report.unreadable.map((u) => u.path)).toEqual([join(source, 'pipe')]);
    expect(report.snapshot.snapshot.summary.files).toBe(6);
    const restored = await restoreSnapshot(repository, report.snapshot, join(dir.path, 'target'));
    expect(restored.failures).toEqual([]);
    const restoredNames = await readdir(join(dir.path, 'target', 'source'));
    expect(restoredNames).toContain('messages.txt');
    expect(restoredNames).not.toContain('pipe');
  });

  test('a name or link target that is not UTF-8 is reported (its bytes escaped), never stored mangled; a name with a real U+FFFD is kept', async () => {
    const source = join(dir.path, 'source');
    await makeSource(source);
    const raw = (name: string, bytes: number[]): Buffer => Buffer.concat([Buffer.from(`${source}/${name}`), Buffer.from(bytes)]);
    await writeFile(raw('latin1-', [0xe9, 0x2e, 0x74, 0x78, 0x74]), 'caf\u00e9 in Latin-1');
    await writeFile(join(source, 'real-\uFFFD.txt'), 'a valid name that holds U+FFFD');
    await symlink(Buffer.from([0x2f, 0x74, 0x6d, 0x70, 0x2f, 0xff]), join(source, 'odd-link'));
    const repository = await Repository.init(new MemoryStorage(), first, options);
    const report = await backup(repository, [source]);
    expect(report.unreadable).toEqual([
      { path: `${source}/latin1-\\xe9.txt`, message: 'EILSEQ: the name is not valid UTF-8, and snapshots store names as UTF-8 (skipped)' },
      { path: join(source, 'odd-link'), message: "EILSEQ: the link's target is not valid UTF-8, and snapshots store targets as UTF-8 (skipped)" },
    ]);
    const restored = await restoreSnapshot(repository, report.snapshot, join(dir.path, 'target'));
    expect(restored.failures).toEqual([]);
    const names = await readdir(join(dir.path, 'target', 'source'));
    expect(names).toContain('real-\uFFFD.txt');
    expect(names.some((n) => n.startsWith('latin1-') || n === 'odd-link')).toBe(false);
    expect(await readFile(join(dir.path, 'target', 'source', 'real-\uFFFD.txt'), 'utf8')).toBe('a valid name that holds U+FFFD');
  });
});

describe('damage and rollback', () => {
  test('a flipped bit in a pack is named by check --read-data and by restore, and nothing unverified is written', async () => {
    const source = join(dir.path, 'source');
    await makeSource(source);
    const storage = new MemoryStorage();
    const repository = await Repository.init(storage, first, options);
    const { snapshot } = await backup(repository, [source]);
    const pack = [...repository.index.packs].find((p) => p.entries.some((e) => e.type === 'data' && e.rawLength > 100_000));
    if (!pack) throw new Error('no data pack');
    const name = packName(pack.id);
    const bytes = await storage.get(name);
    const entry = pack.entries.find((e) => e.type === 'data') ?? pack.entries[0];
    if (!entry) throw new Error('empty pack');
    bytes[entry.offset + 40] = (bytes[entry.offset + 40] ?? 0) ^ 0x10;
    storage.tamper(name, bytes);

    const check = await checkRepository(repository, { readData: true });
    expect(check.problems.map((p) => p.object)).toContain(name);
    const restored = await restoreSnapshot(repository, snapshot, join(dir.path, 'target'));
    expect(restored.failures.length).toBeGreaterThan(0);
    expect(restored.failures[0]?.message).toContain(pack.id);
    // The damaged file is absent, not half-written; no temporary file is left behind.
    const leftovers = (await readdir(join(dir.path, 'target'), { recursive: true })).filter((n) => n.includes('.coffer-restore-'));
    expect(leftovers).toEqual([]);
  });

  /** A repository with two snapshots, its storage, and the names of its objects by kind. */
  async function twoSnapshots(): Promise<{ storage: MemoryStorage; repository: Repository; names: (prefix: string) => Promise<string[]> }> {
    const source = join(dir.path, 'source');
    await makeSource(source);
    const storage = new MemoryStorage();
    const repository = await Repository.init(storage, first, options);
    await backup(repository, [source]);
    await writeFile(join(source, 'new.bin'), noise(7, 200_000));
    await backup(repository, [source]);
    const names = async (prefix: string): Promise<string[]> => {
      const out: string[] = [];
      for await (const o of storage.list(prefix)) out.push(o.name);
      return out.sort();
    };
    return { storage, repository, names };
  }

  test('truncated, swapped and duplicated snapshot objects are refused, naming the object', async () => {
    const { storage, repository, names } = await twoSnapshots();
    const [a, b] = await names('snapshots/');
    if (!a || !b) throw new Error('expected two snapshots');
    const bytesA = await storage.get(a);
    const bytesB = await storage.get(b);
    // Truncated: the content no longer hashes to its name.
    storage.tamper(b, bytesB.slice(0, -1));
    await expect(repository.snapshots()).rejects.toMatchObject({ code: 'E_AUTH_FAILED', message: expect.stringContaining(b) as unknown });
    expect((await checkRepository(repository)).problems.map((p) => p.message).join()).toContain(b);
    // Swapped: A's bytes under B's name.
    storage.tamper(b, bytesA);
    await expect(repository.snapshots()).rejects.toMatchObject({ code: 'E_AUTH_FAILED' });
    // Duplicated under a name that claims another sequence number: the content's own number wins.
    storage.tamper(b, bytesB);
    const fakeName = `snapshots/0000000009-${a.slice(-64)}`;
    await storage.put(fakeName, bytesA);
    await expect(repository.snapshots()).rejects.toMatchObject({ code: 'E_AUTH_FAILED', message: expect.stringContaining('sequence') as unknown });
  });

  test('truncated and duplicated index files stop the repository from opening, naming the file', async () => {
    const { storage, names } = await twoSnapshots();
    const [index] = await names('index/');
    if (!index) throw new Error('no index file');
    const bytes = await storage.get(index);
    storage.tamper(index, bytes.slice(0, -3));
    await expect(Repository.open(storage, secret, options)).rejects.toMatchObject({ code: 'E_INTEGRITY', message: expect.stringContaining(index) as unknown });
    storage.tamper(index, bytes);
    await storage.put(`index/${'0'.repeat(64)}`, bytes);
    await expect(Repository.open(storage, secret, options)).rejects.toMatchObject({ code: 'E_INTEGRITY', message: expect.stringContaining('0'.repeat(64)) as unknown });
  });

  test('truncated and swapped packs are named by check --read-data and by restore', async () => {
    const { storage, repository, names } = await twoSnapshots();
    const packs = await names('data/');
    const [p, q] = packs;
    if (!p || !q) throw new Error('expected two packs');
    const bytesP = await storage.get(p);
    const bytesQ = await storage.get(q);
    storage.tamper(p, bytesP.slice(0, bytesP.length - 100));
    let report = await checkRepository(repository, { readData: true });
    expect(report.problems.filter((x) => x.severity === 'error').map((x) => x.object)).toContain(p);
    storage.tamper(p, bytesQ);
    storage.tamper(q, bytesP);
    report = await checkRepository(repository, { readData: true });
    const damaged = new Set(report.problems.filter((x) => x.severity === 'error').map((x) => x.object));
    expect(damaged.has(p) && damaged.has(q)).toBe(true);
    // Damage in a tree blob stops the restore (E_INTEGRITY); damage in file data fails those files.
    // Either way the damaged pack is named, and no unverified byte reaches the target.
    const outcome = await restoreSnapshot(repository, await repository.findSnapshot('latest'), join(dir.path, 'target')).then(
      (report) => report.failures.map((f) => f.message).join('\n'),
      (error: unknown) => (error instanceof CofferError && error.code === 'E_INTEGRITY' ? error.message : `unexpected: ${String(error)}`),
    );
    expect(outcome).toMatch(new RegExp(`${p.slice(-64)}|${q.slice(-64)}`));
  });

  test('a deleted pack is reported by check without reading data', async () => {
    const source = join(dir.path, 'source');
    await makeSource(source);
    const storage = new MemoryStorage();
    const repository = await Repository.init(storage, first, options);
    await backup(repository, [source]);
    const pack = [...repository.index.packs][0];
    if (!pack) throw new Error('no pack');
    await storage.delete(packName(pack.id));
    const check = await checkRepository(repository);
    expect(check.problems).toContainEqual(expect.objectContaining({ object: packName(pack.id) }));
  });

  test('a client that saw a newer snapshot refuses a rolled-back repository', async () => {
    const source = join(dir.path, 'source');
    await makeSource(source);
    const storage = new MemoryStorage();
    const freshness = new FileFreshnessStore(join(dir.path, 'state'));
    const repository = await Repository.init(storage, first, { ...options, freshness });
    await backup(repository, [source]);
    const second = await backup(repository, [source]);
    // The storage "loses" the newest snapshot.
    await storage.delete(second.snapshot.name);
    const reopened = await Repository.open(storage, secret, { freshness });
    await expect(reopened.findSnapshot('latest')).rejects.toMatchObject({ code: 'E_ROLLBACK' });
    // A device with no memory accepts it and can show what it restores.
    const fresh = await Repository.open(storage, secret, { freshness: new FileFreshnessStore(join(dir.path, 'other-state')) });
    expect((await fresh.findSnapshot('latest')).snapshot.seq).toBe(1);
  });

  test('the remembered state: a save removes temporary files a killed save left behind, not one in progress', async () => {
    const state = join(dir.path, 'state');
    const freshness = new FileFreshnessStore(state);
    const id = '0123456789abcdef0123456789abcdef';
    await mkdir(state, { recursive: true });
    const stale = join(state, `${id}.json.deadbeef.tmp`);
    const inProgress = join(state, `${id}.json.cafebabe.tmp`);
    const otherRepository = join(state, `${'f'.repeat(32)}.json.deadbeef.tmp`);
    for (const f of [stale, inProgress, otherRepository]) await writeFile(f, '{');
    const hourAgo = new Date(Date.now() - 3_600_000);
    await utimes(stale, hourAgo, hourAgo);
    await utimes(otherRepository, hourAgo, hourAgo);
    const remembered: FreshnessState = { configGeneration: 2, configMac: 'ab', snapshotSeq: 1, snapshotId: null };
    await freshness.save(id, remembered);
    expect((await readdir(state)).sort()).toEqual([`${id}.json`, `${id}.json.cafebabe.tmp`, `${'f'.repeat(32)}.json.deadbeef.tmp`].sort());
    expect(await freshness.load(id)).toEqual(remembered);
  });

  test('a wrong recovery key is E_WRONG_KEY, a missing repository E_REPOSITORY_NOT_FOUND', async () => {
    const storage = new MemoryStorage();
    await expect(Repository.open(storage, secret)).rejects.toMatchObject({ code: 'E_REPOSITORY_NOT_FOUND' });
    await Repository.init(storage, first, options);
    await expect(Repository.init(storage, first, options)).rejects.toMatchObject({ code: 'E_REPOSITORY_EXISTS' });
    const error: unknown = await Repository.open(storage, { type: 'recovery-key', recoveryKey: generateRecoveryKey() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CofferError);
    expect((error as CofferError).code).toBe('E_WRONG_KEY');
  });
});

describe('forget and prune', () => {
  test('prune removes what forgotten snapshots alone used; every kept snapshot still restores', async () => {
    const source = join(dir.path, 'source');
    await makeSource(source);
    const storage = new MemoryStorage();
    const repository = await Repository.init(storage, first, options);
    const days = ['2026-01-01', '2026-01-02', '2026-01-03', '2026-01-04'];
    for (const [i, day] of days.entries()) {
      await writeFile(join(source, `day-${String(i)}.bin`), noise(10 + i, 300_000));
      await backup(repository, [source], { now: () => new Date(`${day}T12:00:00Z`) });
      await rm(join(source, `day-${String(i)}.bin`));
    }
    const plan = planForget(await repository.snapshots(), { keepLast: 2 });
    expect(plan.keep.map((s) => s.snapshot.seq)).toEqual([4, 3]);
    for (const s of plan.remove) await storage.delete(s.name);
    const reopened = await Repository.open(storage, secret, { codec: zstdCodec() });
    const report = await prune(reopened, { maxUnused: 0 });
    expect(report.packsDeleted).toBeGreaterThan(0);
    const after = await Repository.open(storage, secret, { codec: zstdCodec() });
    expect((await checkRepository(after, { readData: true })).problems).toEqual([]);
    for (const kept of plan.keep) {
      const target = join(dir.path, `restore-${String(kept.snapshot.seq)}`);
      const restored = await restoreSnapshot(after, kept, target);
      expect(restored.failures).toEqual([]);
      const dayFile = `day-${String(kept.snapshot.seq - 1)}.bin`;
      expect(Buffer.compare(await readFile(join(target, 'source', dayFile)), Buffer.from(noise(10 + kept.snapshot.seq - 1, 300_000)))).toBe(0);
    }
  });

  test('a backup that reloads the index after locking never references packs a prune removed meanwhile', async () => {
    const source = join(dir.path, 'source');
    await mkdir(source, { recursive: true });
    const photo = join(source, 'photo.jpg');
    const storage = new MemoryStorage();
    const repository = await Repository.init(storage, first, options);
    await writeFile(photo, noise(21, 400_000));
    const old = await backup(repository, [source]);
    await writeFile(photo, noise(22, 400_000));
    await backup(repository, [source]);
    await storage.delete(old.snapshot.name);
    // Device A opened the repository (and read the index) before device B pruned.
    const deviceA = await Repository.open(storage, secret, options);
    const deviceB = await Repository.open(storage, secret, options);
    expect((await prune(deviceB, { maxUnused: 0 })).packsDeleted).toBeGreaterThan(0);
    // A takes its lock, then reloads: the old photo's blobs are gone from the index and are uploaded again.
    await deviceA.reloadIndex();
    await writeFile(photo, noise(21, 400_000));
    const again = await backup(deviceA, [source]);
    expect(again.snapshot.snapshot.summary.addedBytes).toBeGreaterThanOrEqual(400_000);
    expect((await checkRepository(deviceA, { readData: true })).problems.filter((p) => p.severity === 'error')).toEqual([]);
    const restored = await restoreSnapshot(deviceA, again.snapshot, join(dir.path, 'target'));
    expect(restored.failures).toEqual([]);
    expect(Buffer.compare(await readFile(join(dir.path, 'target', 'source', 'photo.jpg')), Buffer.from(noise(21, 400_000)))).toBe(0);
  });
});
