/**
 * The walkthrough of docs/cli.md as a transcript: init → backup → snapshots →
 * ls → restore (compared like `diff -r`, plus modes and mtimes) → check
 * --read-data; then a second backup, diff, forget --keep-last 1 --prune, and
 * the kept snapshot still restores. Every step also runs with --json.
 */
import { chmod, mkdir, open, readFile, readdir, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Env, baseEnv, coffer, cofferJson, expectNoStackTrace, expectSameTree, inProcessJson, jsonError, noise, tempDir } from './helpers.ts';

interface SnapshotDoc {
  id: string;
  shortId: string;
  seq: number;
  time: string;
  paths: string[];
  tags: string[];
}

let work: { path: string; remove: () => Promise<void> };
let env: Env;
let source: string;
let repo: string;

beforeAll(async () => {
  work = await tempDir('coffer-cli-workflow-');
  source = join(work.path, 'chat');
  repo = join(work.path, 'repo');
  env = baseEnv({ COFFER_REPOSITORY: repo, COFFER_STATE_DIR: join(work.path, 'state'), COFFER_RECOVERY_KEY_FILE: join(work.path, 'recovery-key.txt') });
  await mkdir(join(source, 'media', '2026'), { recursive: true });
  await mkdir(join(source, 'empty-dir'));
  await writeFile(join(source, 'messages.txt'), 'hello\n'.repeat(50_000));
  await writeFile(join(source, 'media', '2026', 'photo.jpg'), noise(1, 700_000));
  await writeFile(join(source, 'media', '2026', 'forwarded.jpg'), noise(1, 700_000));
  await writeFile(join(source, 'media', 'video.mp4'), noise(2, 1_500_000));
  await writeFile(join(source, 'empty.txt'), '');
  await writeFile(join(source, 'secret.key'), 'private');
  await chmod(join(source, 'secret.key'), 0o600);
  await chmod(join(source, 'media', '2026'), 0o750);
  await symlink('media/video.mp4', join(source, 'link-to-video'));
  await utimes(join(source, 'messages.txt'), new Date('2025-03-04T05:06:07.891Z'), new Date('2025-03-04T05:06:07.891Z'));
});

afterAll(async () => {
  await work.remove();
});

describe('coffer walkthrough', () => {
  let first: SnapshotDoc;

  test('init writes the recovery key to a 0600 file and refuses to overwrite it', async () => {
    const init = await coffer(['init', '--write-recovery-key', join(work.path, 'recovery-key.txt')], env);
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toContain('created repository');
    expect(init.stderr).toMatch(/backups are lost for good/);
    const info = await stat(join(work.path, 'recovery-key.txt'));
    expect(info.mode & 0o777).toBe(0o600);
    expect(await readFile(join(work.path, 'recovery-key.txt'), 'utf8')).toMatch(/^([2-9A-HJKMNP-Z]{4}-){15}[2-9A-HJKMNP-Z]{4}$/m);

    const again = await coffer(['init', '-r', join(work.path, 'second-repo'), '--write-recovery-key', join(work.path, 'recovery-key.txt')], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('refusing to overwrite');
    await expect(stat(join(work.path, 'second-repo'))).rejects.toThrow();

    const exists = await coffer(['--json', 'init', '--write-recovery-key', join(work.path, 'other-key.txt')], env);
    expect(exists.code).toBe(1);
    expect(exists.stdout).toBe('');
    expect(jsonError(exists)).toMatchObject({ code: 'E_REPOSITORY_EXISTS' });
    // The key file made for the failed init is removed again.
    await expect(stat(join(work.path, 'other-key.txt'))).rejects.toThrow();
  });

  test('backup, then snapshots shows it with its sequence number', async () => {
    const backup = await cofferJson<{ snapshot: SnapshotDoc; unreadable: unknown[] }>(['backup', '--tag', 'first', source], env);
    expect(backup.code, backup.stderr).toBe(0);
    expect(backup.json.unreadable).toEqual([]);
    expect(backup.json.snapshot).toMatchObject({ seq: 1, paths: [source], tags: ['first'] });
    first = backup.json.snapshot;

    const [text, json] = await Promise.all([coffer(['snapshots'], env), inProcessJson<{ snapshots: SnapshotDoc[]; latest: { seq: number; id: string } }>(['snapshots'], env)]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`${first.shortId}\\s+1\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d`));
    expect(text.stdout).toContain('newest: #1');

    expect(json.json.snapshots.map((s) => s.id)).toEqual([first.id]);
    expect(json.json.latest).toMatchObject({ seq: 1, id: first.id });
  });

  test('ls lists every path of the snapshot', async () => {
    const [ls, long, json] = await Promise.all([
      coffer(['ls', 'latest'], env),
      coffer(['ls', '-l', first.shortId], env),
      inProcessJson<{ nodes: { path: string; type: string; size?: number }[] }>(['ls', first.id], env),
    ]);
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout.trim().split('\n')).toEqual([
      '/chat',
      '/chat/empty-dir',
      '/chat/empty.txt',
      '/chat/link-to-video',
      '/chat/media',
      '/chat/media/2026',
      '/chat/media/2026/forwarded.jpg',
      '/chat/media/2026/photo.jpg',
      '/chat/media/video.mp4',
      '/chat/messages.txt',
      '/chat/secret.key',
    ]);
    expect(ls.stderr).toContain(`snapshot ${first.shortId} (#1 of`);
    expect(long.stdout).toMatch(/-rw------- +7 .* \/chat\/secret\.key/);
    expect(long.stdout).toMatch(/lrwxrwxrwx .* \/chat\/link-to-video -> media\/video\.mp4/);
    expect(json.json.nodes).toContainEqual(expect.objectContaining({ path: '/chat/media/video.mp4', type: 'file', size: 1_500_000 }));
  });

  test('restore latest gives back the same tree: contents, modes, mtimes', async () => {
    const target = join(work.path, 'restored');
    const restore = await coffer(['restore', 'latest', '--target', target], env);
    expect(restore.code, restore.stderr).toBe(0);
    // It says which snapshot it used: sequence number and date.
    expect(restore.stderr).toMatch(new RegExp(`restoring snapshot ${first.shortId} \\(#1 of \\d{4}-`));
    expect(await expectSameTree(source, join(target, 'chat'))).toBe(6);
    // The top directory's own mode and mtime come back too.
    const [a, b] = [await stat(source, { bigint: true }), await stat(join(target, 'chat'), { bigint: true })];
    expect(b.mode).toBe(a.mode);
    expect(Math.abs(Number(b.mtimeNs - a.mtimeNs))).toBeLessThan(2000);
  });

  test('restore --include restores a subset', async () => {
    const target = join(work.path, 'jpegs');
    const restore = await cofferJson<{ files: number; failures: unknown[] }>(['restore', first.shortId, '--target', target, '--include', '*.jpg'], env);
    expect(restore.code, restore.stderr).toBe(0);
    expect(restore.json).toMatchObject({ files: 2, failures: [] });
    await expect(stat(join(target, 'chat', 'messages.txt'))).rejects.toThrow();
  });

  test('check --read-data verifies everything', async () => {
    const [check, json] = await Promise.all([
      coffer(['check', '--read-data'], env),
      inProcessJson<{ problems: unknown[]; blobsRead: number; readData: boolean }>(['check', '--read-data'], env),
    ]);
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toContain('no errors were found');
    expect(json.json.problems).toEqual([]);
    expect(json.json.readData).toBe(true);
    expect(json.json.blobsRead).toBeGreaterThan(3);
  });

  test('a second backup, diff, forget --keep-last 1 --prune, and the kept snapshot restores', async () => {
    await writeFile(join(source, 'messages.txt'), 'hello again\n'.repeat(50_000));
    await rm(join(source, 'empty.txt'));
    await writeFile(join(source, 'media', 'new.jpg'), noise(3, 200_000));
    await chmod(join(source, 'secret.key'), 0o400);
    const backup = await cofferJson<{ snapshot: SnapshotDoc }>(['backup', source], env);
    expect(backup.code, backup.stderr).toBe(0);
    const second = backup.json.snapshot;
    expect(second.seq).toBe(2);

    const diff = await coffer(['diff', first.shortId, second.shortId], env);
    expect(diff.code, diff.stderr).toBe(0);
    const lines = diff.stdout.trim().split('\n');
    expect(lines).toContain('-    /chat/empty.txt');
    expect(lines).toContain('+    /chat/media/new.jpg');
    expect(lines).toContain('M    /chat/messages.txt');
    expect(lines).toContain('U    /chat/secret.key');
    expect(lines.filter((l) => /^[-+MTU] /.test(l))).toHaveLength(4);
    const diffJson = await inProcessJson<{ added: number; removed: number; modified: number; changes: { change: string; path: string }[] }>(['diff', first.id, second.id], env);
    expect(diffJson.json).toMatchObject({ added: 1, removed: 1, modified: 1 });

    const forget = await cofferJson<{ keep: SnapshotDoc[]; remove: SnapshotDoc[]; prune: { packsDeleted: number } | null }>(['forget', '--keep-last', '1', '--prune'], env);
    expect(forget.code, forget.stderr).toBe(0);
    expect(forget.json.keep.map((s) => s.id)).toEqual([second.id]);
    expect(forget.json.remove.map((s) => s.id)).toEqual([first.id]);
    expect(forget.json.prune?.packsDeleted).toBeGreaterThan(0);

    const snapshots = await inProcessJson<{ snapshots: SnapshotDoc[] }>(['snapshots'], env);
    expect(snapshots.json.snapshots.map((s) => s.seq)).toEqual([2]);
    const target = join(work.path, 'restored-after-prune');
    const restore = await coffer(['restore', 'latest', '--target', target], env);
    expect(restore.code, restore.stderr).toBe(0);
    expect(restore.stderr).toContain('(#2 of');
    expect(await expectSameTree(source, join(target, 'chat'))).toBe(6);
    const check = await coffer(['check', '--read-data'], env);
    expect(check.code, check.stdout + check.stderr).toBe(0);
  });

  test('forget refuses the newest snapshot by id, and asks for a policy or ids', async () => {
    const latest = await inProcessJson<{ latest: { id: string } }>(['snapshots'], env);
    const refused = await coffer(['forget', latest.json.latest.id.slice(0, 8)], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('is the newest and is always kept');
    const nothing = await coffer(['forget'], env);
    expect(nothing.code).toBe(1);
    expect(nothing.stderr).toContain('--keep-last');
    expectNoStackTrace(nothing);
  });

  test('cat config prints the public config and no secret', async () => {
    const text = await coffer(['cat', 'config'], env);
    expect(text.code, text.stderr).toBe(0);
    const config = JSON.parse(text.stdout) as Record<string, unknown>;
    expect(Object.keys(config).sort()).toEqual(['createdAt', 'generation', 'keyslots', 'params', 'repositoryId', 'version']);
    expect(config.params).toMatchObject({ chunker: { avg: 1024 * 1024 } });
    const keyslots = config.keyslots as Record<string, unknown>[];
    expect(keyslots).toHaveLength(1);
    expect(Object.keys(keyslots[0] ?? {}).sort()).toEqual(['createdAt', 'id', 'label', 'lastUsedAt', 'type']);
    const key = (await readFile(join(work.path, 'recovery-key.txt'), 'utf8')).split('\n').find((l) => !l.startsWith('#')) ?? 'missing';
    expect(text.stdout).not.toContain(key);
    expect(text.stdout).not.toContain(key.replaceAll('-', ''));
    // No key needed: cat config works with none in the environment.
    const keyless = await inProcessJson(['cat', 'config'], { ...env, COFFER_RECOVERY_KEY_FILE: undefined });
    expect(keyless.code).toBe(0);
    expect(keyless.json).toEqual(config);
  });

  // Last: it damages the repository.
  test('a damaged pack: restore names it, writes nothing unverified and exits 1; check --read-data names it too', async () => {
    const packs = (await readdir(join(repo, 'data'), { recursive: true, withFileTypes: true })).filter((e) => e.isFile() && !e.name.startsWith('.'));
    const sized = await Promise.all(packs.map(async (e) => ({ path: join(e.parentPath, e.name), name: e.name, size: (await stat(join(e.parentPath, e.name))).size })));
    const largest = sized.sort((a, b) => b.size - a.size)[0];
    if (!largest) throw new Error('no pack');
    // Byte 100 lies in the first blob frame (after the 37-byte preamble) of the biggest data pack.
    const handle = await open(largest.path, 'r+');
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, 100);
    byte[0] = (byte[0] ?? 0) ^ 0x01;
    await handle.write(byte, 0, 1, 100);
    await handle.close();

    const target = join(work.path, 'restored-damaged');
    const restore = await coffer(['restore', 'latest', '--target', target], env);
    expect(restore.code).toBe(1);
    expect(restore.stdout).toContain('INCOMPLETELY');
    expect(restore.stdout).toContain(largest.name);
    expect(restore.stderr).toMatch(/coffer: \d+ paths? of snapshot .* could not be restored/);
    expectNoStackTrace(restore);
    const json = await coffer(['--json', 'restore', 'latest', '--target', join(work.path, 'restored-damaged-json')], env);
    expect(json.code).toBe(1);
    expect(jsonError(json).code).toBe('E_INTEGRITY');
    const doc = JSON.parse(json.stdout) as { failures: { path: string; message: string }[]; files: number; totalFiles: number };
    expect(doc.failures.length).toBeGreaterThan(0);
    expect(doc.failures[0]?.message).toContain(largest.name);
    expect(doc.files).toBe(doc.totalFiles - doc.failures.length);
    // The damaged file is absent, not half-written; no temporary file is left.
    for (const failure of doc.failures) await expect(stat(join(work.path, 'restored-damaged-json', failure.path))).rejects.toThrow();
    expect((await readdir(target, { recursive: true })).filter((n) => n.includes('.coffer-restore-'))).toEqual([]);

    const check = await coffer(['check', '--read-data'], env);
    expect(check.code).toBe(1);
    expect(check.stdout).toContain(largest.name);
    expect(check.stderr).toContain('check found');
  });
});
