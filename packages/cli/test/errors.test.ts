/**
 * Bad input and bad situations, each with a clear message, the documented exit
 * code, JSON errors with --json, and no stack trace unless COFFER_DEBUG=1:
 * missing repository (10), a held lock (11), unreadable source paths (3),
 * rollback, bad arguments and unknown commands or options (1), --help for every
 * command, and locks released on SIGINT/SIGTERM.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseRecoveryKey } from '@coffer/core';
import { Repository, RepositoryLock } from '@coffer/engine';
import { LocalStorage, nodeLockEnvironment } from '@coffer/engine/node';
import { COMMANDS } from '../src/commands/index.ts';
import { type Env, baseEnv, coffer, collect, expectNoStackTrace, inProcessJson, jsonError, runInProcess, spawnCoffer, tempDir } from './helpers.ts';

let work: { path: string; remove: () => Promise<void> };
let env: Env;
let repo: string;
let source: string;

async function openInProcess(): Promise<Repository> {
  const text = (await import('node:fs/promises').then((fs) => fs.readFile(env.COFFER_RECOVERY_KEY_FILE ?? '', 'utf8'))).split('\n').filter((l) => !l.startsWith('#')).join('');
  return Repository.open(new LocalStorage(repo), { type: 'recovery-key', recoveryKey: parseRecoveryKey(text) });
}

/** Lock objects in the local repository (not the temporary files a write passes through). */
async function locks(): Promise<string[]> {
  return (await readdir(join(repo, 'locks')).catch(() => [])).filter((name) => !name.startsWith('.'));
}

beforeAll(async () => {
  work = await tempDir('coffer-cli-errors-');
  repo = join(work.path, 'repo');
  source = join(work.path, 'source');
  await mkdir(source);
  await writeFile(join(source, 'note.txt'), 'hello');
  env = baseEnv({ COFFER_REPOSITORY: repo, COFFER_STATE_DIR: join(work.path, 'state'), COFFER_RECOVERY_KEY_FILE: join(work.path, 'key') });
  const init = await coffer(['init', '--write-recovery-key', join(work.path, 'key')], env);
  expect(init.code, init.stderr).toBe(0);
});

afterAll(async () => {
  await work.remove();
});

// Independent of each other and of the repository's locks: run at once.
describe.concurrent('bad input and missing things', () => {
  test('a missing repository exits 10, for every command that opens one', async () => {
    const missing = { ...env, COFFER_REPOSITORY: join(work.path, 'no-such-repo') };
    const results = await Promise.all([['snapshots'], ['backup', source], ['cat', 'config']].map((args) => coffer(args, missing)));
    // The other commands that open a repository, in-process (the same code as the binary).
    results.push(...(await Promise.all([['restore', 'latest', '--target', join(work.path, 't')], ['check'], ['key', 'list'], ['ls', 'latest'], ['diff', 'abcd', 'abcd'], ['forget', '--keep-last', '1'], ['prune'], ['unlock']].map((args) => runInProcess(args, missing)))));
    for (const result of results) {
      expect(result.code, result.stderr).toBe(10);
      expect(result.stderr).toContain(`there is no Coffer repository at ${join(work.path, 'no-such-repo')}`);
      expect(result.stderr).toContain('coffer init');
      expectNoStackTrace(result);
    }
    const json = await coffer(['--json', 'snapshots'], missing);
    expect(json.code).toBe(10);
    expect(json.stdout).toBe('');
    expect(jsonError(json)).toMatchObject({ code: 'E_REPOSITORY_NOT_FOUND' });
    // COFFER_DEBUG=1 adds the stack.
    const debug = await coffer(['snapshots'], { ...missing, COFFER_DEBUG: '1' });
    expect(debug.code).toBe(10);
    expect(debug.stderr).toMatch(/\n\s+at .+:\d+:\d+/);
  });

  test('no repository given at all', async () => {
    const none = await coffer(['snapshots'], { ...env, COFFER_REPOSITORY: undefined });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('no repository given: pass -r/--repo REPOSITORY or set COFFER_REPOSITORY');
    const scheme = await coffer(['snapshots', '-r', 'sftp:host:/x'], env);
    expect(scheme.code).toBe(1);
    expect(scheme.stderr).toContain('unsupported repository scheme "sftp:"');
  });

  test('a source that does not exist is a fatal error (exit 1)', async () => {
    const result = await coffer(['backup', join(work.path, 'nothing-here')], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`cannot read ${join(work.path, 'nothing-here')}`);
    expectNoStackTrace(result);
  });

  test('a rolled-back repository is refused with E_ROLLBACK (exit 1); a fresh device shows what it would use', async () => {
    const rollbackRepo = join(work.path, 'rollback-repo');
    const renv = { ...env, COFFER_REPOSITORY: rollbackRepo, COFFER_RECOVERY_KEY_FILE: join(work.path, 'rollback.key') };
    // Setting up needs no process of its own.
    expect((await runInProcess(['init', '--write-recovery-key', join(work.path, 'rollback.key')], renv)).code).toBe(0);
    expect((await runInProcess(['backup', source], renv)).code).toBe(0);
    expect((await runInProcess(['backup', source], renv)).code).toBe(0);
    const newest = (await readdir(join(rollbackRepo, 'snapshots'))).sort().at(-1) ?? '';
    await rm(join(rollbackRepo, 'snapshots', newest));
    for (const args of [['snapshots'], ['restore', 'latest', '--target', join(work.path, 'rb')]]) {
      const refused = await coffer(args, renv);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('but this device already saw #2: storage was rolled back or snapshots were removed');
      expectNoStackTrace(refused);
    }
    const json = await runInProcess(['--json', 'snapshots'], renv);
    expect(jsonError(json).code).toBe('E_ROLLBACK');
    const fresh = await coffer(['snapshots'], { ...renv, COFFER_STATE_DIR: join(work.path, 'fresh-state') });
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(fresh.stdout).toContain('newest: #1');
  });

  test('a file where a directory is needed (restore --target, a repository path) is named, exit 1', async () => {
    const file = join(work.path, 'a-file');
    await writeFile(file, 'not a directory');
    const fenv = { ...env, COFFER_REPOSITORY: join(work.path, 'file-case-repo'), COFFER_RECOVERY_KEY_FILE: join(work.path, 'file-case.key') };
    expect((await runInProcess(['init', '--write-recovery-key', join(work.path, 'file-case.key')], fenv)).code).toBe(0);
    expect((await runInProcess(['backup', source], fenv)).code).toBe(0);
    const restore = await runInProcess(['restore', 'latest', '--target', file], fenv);
    expect(restore.code).toBe(1);
    expect(restore.stderr).toContain(`the target ${file} exists and is not a directory`);
    const init = await runInProcess(['init', '--write-recovery-key', join(work.path, 'unused.key'), '-r', join(file, 'repo')], env);
    expect(init.code).toBe(1);
    expect(init.stderr).toMatch(/cannot be made a directory: a file stands at it or above it/);
    expect(await readFile(file, 'utf8')).toBe('not a directory');
  });

  test('unknown commands, unknown options and bad arguments exit 1 with a pointer to help', async () => {
    const cases: [string[], RegExp][] = [
      [['frobnicate'], /unknown command "frobnicate"/],
      [['snapshot'], /unknown command "snapshot" \(did you mean "snapshots"\?\)/],
      [['backup', '--bogus', source], /unknown option '--bogus'[\s\S]*coffer backup --help/],
      [['backup'], /backup takes at least 1 argument/],
      [['restore', 'latest'], /restore needs --target/],
      [['forget', '--keep-last', 'two'], /--keep-last needs a whole number of at least 1, not "two"/],
      [['forget', '--keep-last', '-1'], /option '--keep-last' needs a value; a value that starts with '-' is written --keep-last=VALUE/],
      [['check', 'extra'], /check takes no arguments, got 1\n/],
      [['prune', '--max-unused', '150%'], /--max-unused takes a percentage/],
      [['key'], /"coffer key" needs a subcommand/],
      [['key', 'rotate'], /unknown subcommand "key rotate"/],
      [['restore', 'not-an-id!', '--target', join(work.path, 'x')], /is not a snapshot id/],
      [['restore', 'abcdef12', '--target', join(work.path, 'x')], /no snapshot abcdef12/],
      [[], /no command given/],
    ];
    // The table runs in-process (same code as the binary); one case below runs as a real process.
    const results = await Promise.all(cases.map(([args]) => runInProcess(args, env)));
    for (const [i, result] of results.entries()) {
      expect(result.code, `${cases[i]?.[0].join(' ') ?? ''}: ${result.stderr}`).toBe(1);
      expect(result.stderr).toMatch(cases[i]?.[1] ?? /never/);
      expectNoStackTrace(result);
    }
    const spawned = await coffer(['snapshot'], env);
    expect(spawned.code).toBe(1);
    expect(spawned.stderr).toBe('coffer: unknown command "snapshot" (did you mean "snapshots"?)\nsee `coffer --help`\n');
    const json = await coffer(['--json', 'backup', '--bogus'], env);
    expect(json.code).toBe(1);
    expect(json.stdout).toBe('');
    expect(jsonError(json)).toEqual({ code: 'E_USAGE', message: "unknown option '--bogus'" });
  });

  test('--help for coffer and for every command', async () => {
    const main = await coffer(['--help'], env);
    expect(main.code).toBe(0);
    for (const command of COMMANDS) expect(main.stdout).toContain(`  ${command.name}`);
    expect(main.stdout).toContain('Exit codes:');
    const results = await Promise.all(COMMANDS.map((command) => runInProcess([...command.name.split(' '), '--help'], env)));
    for (const [i, result] of results.entries()) {
      const command = COMMANDS[i];
      expect(result.code, command?.name).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`^Usage: coffer ${command?.name ?? ''}`));
      for (const option of Object.keys(command?.options ?? {})) expect(result.stdout).toContain(`--${option}`);
      expect(result.stdout).toContain('--repo REPOSITORY');
    }
    const group = await runInProcess(['key', '--help'], env);
    expect(group.stdout).toContain('key remove');
    const viaHelp = await runInProcess(['help', 'restore'], env);
    expect(viaHelp.stdout).toMatch(/^Usage: coffer restore/);
  });
});

// These count the repository's locks or take exclusive ones: one after another.
describe('locks, signals and partial backups', () => {
  test('a held exclusive lock makes backup exit 11; unlock keeps live locks and removes stale ones', async () => {
    const repository = await openInProcess();
    const lock = await RepositoryLock.acquire(repository.storage, repository.lockKey, true, nodeLockEnvironment());
    try {
      const backup = await coffer(['backup', source], env);
      expect(backup.code, backup.stderr).toBe(11);
      expect(backup.stderr).toMatch(/the repository is locked exclusively by .* \(pid \d+\)/);
      expect(backup.stderr).toContain('coffer unlock');
      expectNoStackTrace(backup);
      const json = await runInProcess(['--json', 'prune'], env);
      expect(json.code).toBe(11);
      expect(jsonError(json).code).toBe('E_REPOSITORY_LOCKED');
      // Our lock belongs to a running process: unlock leaves it.
      const unlock = await inProcessJson<{ removed: unknown[]; kept: number }>(['unlock'], env);
      expect(unlock.json).toMatchObject({ removed: [], kept: 1 });
    } finally {
      await lock.release();
    }
    // A lock of a process of this host that no longer runs is stale.
    const dead = { host: hostname(), pid: 2 ** 22 + 12345, isAlive: () => false, now: () => Date.now() };
    await RepositoryLock.acquire(repository.storage, repository.lockKey, true, dead);
    expect(await locks()).toHaveLength(1);
    const unlock = await inProcessJson<{ removed: { pid: number }[] }>(['unlock'], env);
    expect(unlock.json.removed).toEqual([expect.objectContaining({ pid: dead.pid })]);
    expect(await locks()).toEqual([]);
    const backup = await coffer(['backup', source], env);
    expect(backup.code, backup.stderr).toBe(0);
    expect(await locks()).toEqual([]);
  });

  test('SIGINT during a backup releases its lock, exits 130, and leaves the repository sound', async () => {
    const big = join(work.path, 'big');
    await mkdir(big);
    // A sparse file: no disk space, but many gigabytes to chunk and hash, so the backup is still running when we interrupt it.
    await writeFile(join(big, 'sparse.img'), '');
    await truncate(join(big, 'sparse.img'), 16 * 1024 ** 3);
    const before = await inProcessJson<{ snapshots: unknown[] }>(['snapshots'], env);

    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const child = spawnCoffer(['backup', big], env);
      const done = collect(child);
      let result;
      try {
        const deadline = Date.now() + 20_000;
        while ((await locks()).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
        expect(await locks()).toHaveLength(1);
        child.kill(signal);
        result = await done;
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
      expect(result.code, result.stderr).toBe(signal === 'SIGINT' ? 130 : 143);
      expect(result.stderr).toContain(`interrupted by ${signal}`);
      expectNoStackTrace(result);
      expect(await locks()).toEqual([]);
    }
    await rm(big, { recursive: true });
    const after = await inProcessJson<{ snapshots: unknown[] }>(['snapshots'], env);
    expect(after.json.snapshots).toEqual(before.json.snapshots);
    const check = await coffer(['check'], env);
    expect(check.code, check.stdout + check.stderr).toBe(0);
  });

  test('a backup that could not read some paths still saves the rest and exits 3', async () => {
    const partial = join(work.path, 'partial');
    await mkdir(partial);
    await writeFile(join(partial, 'ok.txt'), 'fine');
    // root reads every file, so permissions cannot make one unreadable here; a FIFO
    // is deterministic: the engine never opens one and reports it as not readable.
    execFileSync('mkfifo', [join(partial, 'pipe')]);
    const unreadable = [join(partial, 'pipe')];
    if (process.getuid?.() !== 0) {
      await writeFile(join(partial, 'locked.db'), 'secret');
      execFileSync('chmod', ['000', join(partial, 'locked.db')]);
      unreadable.push(join(partial, 'locked.db'));
    }
    const text = await coffer(['backup', partial], env);
    expect(text.code, text.stderr).toBe(3);
    expect(text.stderr).toContain(`warning: could not read ${join(partial, 'pipe')}`);
    expect(text.stdout).toMatch(/could not be read and (is|are) not in snapshot/);
    const json = await inProcessJson<{ snapshot: { id: string }; unreadable: { path: string; message: string }[] }>(['backup', partial], env);
    expect(json.code).toBe(3);
    expect(json.json.unreadable.map((u) => u.path).sort()).toEqual(unreadable.sort());
    const ls = await coffer(['ls', json.json.snapshot.id], env);
    expect(ls.stdout.trim().split('\n')).toEqual(['/partial', '/partial/ok.txt']);
  });

  test('every command speaks JSON: one document on stdout, nothing on stderr', async () => {
    // The walkthrough and key tests check the documents' content through the real binary; this
    // covers every command's --json shape in-process (same code), one after another (some lock).
    const snapshots = await inProcessJson<{ latest: { id: string } }>(['snapshots'], env);
    const id = snapshots.json.latest.id;
    const covered = new Set<string>();
    const runs: [string[], { code: number | null; stdout: string; stderr: string }][] = [];
    for (const args of [
      ['snapshots'],
      ['ls', id],
      ['diff', id, id],
      ['key', 'list'],
      ['key', 'add', '--write-recovery-key', join(work.path, 'json.key')],
      ['key', 'remove', 'KEY'],
      ['cat', 'config'],
      ['version'],
      ['check'],
      ['unlock'],
      ['backup', source],
      ['forget', '--keep-last', '5', '--dry-run'],
      ['prune', '--dry-run'],
      ['restore', id, '--target', join(work.path, 'json-restore')],
    ]) {
      if (args.at(-1) === 'KEY') {
        const list = await inProcessJson<{ keys: { id: string; current: boolean }[] }>(['key', 'list'], env);
        args[args.length - 1] = list.json.keys.find((k) => !k.current)?.id ?? '';
      }
      runs.push([args, await runInProcess(['--json', ...args], env)]);
      covered.add(args[0] === 'key' || args[0] === 'cat' ? `${args[0]} ${args[1] ?? ''}` : args[0] ?? '');
    }
    for (const [args, run] of runs) {
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(0);
      expect(run.stderr).toBe('');
      expect(JSON.parse(run.stdout), args.join(' ')).toBeTypeOf('object');
    }
    // init has its own JSON checks; login and logout need a Coffer server (server.test.ts covers them).
    expect([...covered].sort()).toEqual(COMMANDS.map((c) => c.name).filter((n) => !['init', 'login', 'logout'].includes(n)).sort());
  });
});
