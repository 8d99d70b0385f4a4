/**
 * Unlock methods from the command line: key add/list/remove (never the last
 * one), wrong and mistyped keys (exit 12), where the key comes from, and how a
 * new key reaches its owner (file, terminal, or a refusal).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { generateRecoveryKey } from '@coffer/core';
import { COFFER, type Env, NODE, baseEnv, coffer, cofferJson, expectNoStackTrace, inProcessJson, jsonError, runInProcess, tempDir } from './helpers.ts';

interface KeyDoc {
  id: string;
  type: string;
  label: string;
  createdAt: string | null;
  lastUsedAt: string | null;
  current: boolean;
}

let work: { path: string; remove: () => Promise<void> };
let env: Env;
let firstKeyFile: string;

async function keyText(file: string): Promise<string> {
  return (await readFile(file, 'utf8')).split('\n').find((line) => line !== '' && !line.startsWith('#')) ?? '';
}

beforeAll(async () => {
  work = await tempDir('coffer-cli-keys-');
  firstKeyFile = join(work.path, 'first.key');
  env = baseEnv({ COFFER_REPOSITORY: join(work.path, 'repo'), COFFER_STATE_DIR: join(work.path, 'state'), COFFER_RECOVERY_KEY_FILE: firstKeyFile });
  const init = await coffer(['init', '--write-recovery-key', firstKeyFile, '--label', 'paper copy'], env);
  expect(init.code, init.stderr).toBe(0);
});

afterAll(async () => {
  await work.remove();
});

describe('key add, list, remove', () => {
  test('add a second key, list both, remove one with the other, refuse the last', async () => {
    const secondKeyFile = join(work.path, 'second.key');
    const added = await cofferJson<{ id: string; recoveryKeyFile: string }>(['key', 'add', '--label', 'safe deposit box', '--write-recovery-key', secondKeyFile], env);
    expect(added.code, added.stderr).toBe(0);
    expect(added.json.recoveryKeyFile).toBe(secondKeyFile);

    const list = await inProcessJson<{ keys: KeyDoc[] }>(['key', 'list'], env);
    expect(list.code, list.stderr).toBe(0);
    expect(list.json.keys).toHaveLength(2);
    const [first, second] = list.json.keys;
    expect(first).toMatchObject({ type: 'recovery-key', label: 'paper copy', current: true, lastUsedAt: null });
    expect(second).toMatchObject({ id: added.json.id, type: 'recovery-key', label: 'safe deposit box', current: false });
    expect(Date.parse(second?.createdAt ?? '')).toBeGreaterThan(Date.now() - 120_000);
    const text = await coffer(['key', 'list'], env);
    expect(text.stdout).toMatch(new RegExp(`\\*${(first?.id ?? '').slice(0, 8)}\\s+recovery-key\\s+paper copy\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\s+never`));
    expect(text.stdout).toMatch(/Created\s+Last used/);

    // The second key opens the repository too.
    const withSecond = await coffer(['snapshots', '--recovery-key-file', secondKeyFile], env);
    expect(withSecond.code, withSecond.stderr).toBe(0);

    // The key in use cannot remove itself (restic's rule); the other one can.
    const self = await coffer(['key', 'remove', (first?.id ?? '').slice(0, 8)], env);
    expect(self.code).toBe(1);
    expect(self.stderr).toContain('unlock with another key');
    const removed = await cofferJson<{ removed: string }>(['key', 'remove', (first?.id ?? '').slice(0, 6), '--recovery-key-file', secondKeyFile], env);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.json.removed).toBe(first?.id);

    // The removed key no longer opens it: a well-formed but wrong key.
    const old = await coffer(['snapshots'], env);
    expect(old.code).toBe(12);
    expect(old.stderr).toContain('wrong recovery key');

    // The last key cannot be removed.
    const last = await coffer(['--json', 'key', 'remove', added.json.id, '--recovery-key-file', secondKeyFile], env);
    expect(last.code).toBe(1);
    expect(jsonError(last)).toMatchObject({ code: 'E_LAST_KEYSLOT' });
    const lastText = await runInProcess(['key', 'remove', added.json.id, '--recovery-key-file', secondKeyFile], env);
    expect(lastText.stderr).toContain('refusing to remove the last unlock method');
    expectNoStackTrace(lastText);
    const still = await inProcessJson<{ keys: KeyDoc[] }>(['key', 'list', '--recovery-key-file', secondKeyFile], env);
    expect(still.json.keys.map((k) => k.id)).toEqual([added.json.id]);

    // Unknown and malformed ids.
    const unknown = await runInProcess(['key', 'remove', 'abcd', '--recovery-key-file', secondKeyFile], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('has no key abcd');
    // Later tests in this file use the second key.
    env = { ...env, COFFER_RECOVERY_KEY_FILE: secondKeyFile };
  });
});

describe.concurrent('wrong, mistyped and missing keys', () => {
  test('a wrong key exits 12', async () => {
    const wrong = await coffer(['snapshots'], { ...env, COFFER_RECOVERY_KEY_FILE: undefined, COFFER_RECOVERY_KEY: generateRecoveryKey().text });
    expect(wrong.code).toBe(12);
    expect(wrong.stderr).toMatch(/wrong recovery key: the key from COFFER_RECOVERY_KEY does not open the repository/);
    expectNoStackTrace(wrong);
    const json = await coffer(['--json', 'backup', work.path], { ...env, COFFER_RECOVERY_KEY_FILE: undefined, COFFER_RECOVERY_KEY: generateRecoveryKey().text });
    expect(json.code).toBe(12);
    expect(jsonError(json).code).toBe('E_WRONG_KEY');
  });

  test('a mistyped key exits 12 and says it is mistyped', async () => {
    const key = await keyText(env.COFFER_RECOVERY_KEY_FILE ?? '');
    // Swap two neighbouring, different characters: the checksum catches it.
    const chars = Array.from(key);
    const i = chars.findIndex((c, j) => c !== '-' && chars[j + 1] !== '-' && chars[j + 1] !== c);
    [chars[i], chars[i + 1]] = [chars[i + 1] ?? '', chars[i] ?? ''];
    const swapped = await coffer(['snapshots'], { ...env, COFFER_RECOVERY_KEY_FILE: undefined, COFFER_RECOVERY_KEY: chars.join('') });
    expect(swapped.code).toBe(12);
    expect(swapped.stderr).toContain('the recovery key from COFFER_RECOVERY_KEY is mistyped');
    expectNoStackTrace(swapped);

    // A look-alike character, typed into a key file given with --recovery-key-file.
    const typoFile = join(work.path, 'typo.key');
    await writeFile(typoFile, `${key.slice(0, 5)}0${key.slice(6)}\n`);
    const lookAlike = await coffer(['--json', 'snapshots', '--recovery-key-file', typoFile], env);
    expect(lookAlike.code).toBe(12);
    expect(jsonError(lookAlike)).toMatchObject({ code: 'E_RECOVERY_KEY_TYPO' });
    expect(jsonError(lookAlike).message).toMatch(/mistyped.*never use 0, O, 1, I or L/);

    // Too short: not a recovery key at all.
    const short = await coffer(['snapshots'], { ...env, COFFER_RECOVERY_KEY_FILE: undefined, COFFER_RECOVERY_KEY: key.slice(0, 40) });
    expect(short.code).toBe(12);
    expect(short.stderr).toContain('is not a recovery key (mistyped or incomplete?)');
  });

  test('no key at all, and an unreadable key file, are explained', async () => {
    const none = await coffer(['snapshots'], { ...env, COFFER_RECOVERY_KEY_FILE: undefined });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('needs the recovery key: set COFFER_RECOVERY_KEY or COFFER_RECOVERY_KEY_FILE');
    const missing = await coffer(['snapshots', '--recovery-key-file', join(work.path, 'nope.key')], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('cannot read the recovery key from --recovery-key-file');
    expectNoStackTrace(missing);
  });
});

describe.concurrent('handing over a new key', () => {
  test('without a file or a terminal, init and key add refuse and change nothing', async () => {
    const repo = join(work.path, 'refused-repo');
    const init = await coffer(['init', '-r', repo], env);
    expect(init.code).toBe(1);
    expect(init.stderr).toContain('refusing to create a recovery key that nobody would see');
    expect(existsSync(repo)).toBe(false);
    const before = await inProcessJson<{ keys: KeyDoc[] }>(['key', 'list'], env);
    const add = await coffer(['--json', 'key', 'add'], env);
    expect(add.code).toBe(1);
    expect(jsonError(add).message).toContain('--write-recovery-key FILE');
    const after = await inProcessJson<{ keys: KeyDoc[] }>(['key', 'list'], env);
    expect(after.json.keys).toEqual(before.json.keys);
  });

  const script = ['/usr/bin/script', '/bin/script'].find((path) => existsSync(path));
  test.skipIf(script === undefined)('on a terminal, init shows the key once with the warning, and that key works', async () => {
    const repo = join(work.path, 'tty-repo');
    // script(1) runs coffer on a pseudo-terminal, as if typed by a person.
    const command = [NODE, COFFER, 'init', '-r', repo].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
    const transcript = execFileSync(script ?? 'script', ['-qec', command, '/dev/null'], { env: { ...env, COFFER_RECOVERY_KEY_FILE: undefined }, encoding: 'utf8' });
    const key = /\b([2-9A-HJKMNP-Z]{4}(?:-[2-9A-HJKMNP-Z]{4}){15})\b/.exec(transcript)?.[1];
    expect(key, transcript).toBeDefined();
    expect(transcript).toContain('shown only this once');
    expect(transcript).toContain('backups are lost for good');
    const keyEnv = { ...env, COFFER_RECOVERY_KEY_FILE: undefined, COFFER_RECOVERY_KEY: key };
    const opened = await coffer(['snapshots', '-r', repo], keyEnv);
    expect(opened.code, opened.stderr).toBe(0);
    expect(opened.stdout).toContain('no snapshots yet');

    // On a terminal, backup draws a progress line on stderr (and not when piped, as everywhere else in these tests).
    const source = join(work.path, 'tty-source');
    await mkdir(source);
    await writeFile(join(source, 'data.bin'), Buffer.alloc(300_000, 7));
    const backup = [NODE, COFFER, 'backup', '-r', repo, source].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
    const progress = execFileSync(script ?? 'script', ['-qec', backup, '/dev/null'], { env: keyEnv, encoding: 'utf8' });
    expect(progress).toMatch(/backup {2}\[=+\] {2}100% {2}1\/1 files {2}293 KiB\/293 KiB/);
    expect(progress).toContain('\x1b[2K');
    const piped = await coffer(['backup', '-r', repo, source], keyEnv);
    expect(piped.stderr).not.toContain('[');
  });
});
