/**
 * `backup --time`: the snapshot records the time given (as restic's --time), and forget's
 * --keep-daily goes by it — how a backup restored from elsewhere, or a benchmark of thirty
 * days, dates its snapshots. A malformed time is a usage error before anything is written.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type Env, baseEnv, coffer, cofferJson, jsonError, noise, tempDir } from './helpers.ts';

let work: { path: string; remove: () => Promise<void> };
let env: Env;
let source: string;

beforeAll(async () => {
  work = await tempDir('coffer-cli-time-');
  source = join(work.path, 'chat');
  await mkdir(source);
  env = baseEnv({ COFFER_REPOSITORY: join(work.path, 'repo'), COFFER_STATE_DIR: join(work.path, 'state'), COFFER_RECOVERY_KEY_FILE: join(work.path, 'key') });
  expect((await coffer(['init', '--write-recovery-key', join(work.path, 'key')], env)).code).toBe(0);
});

afterAll(async () => {
  await work.remove();
});

test('snapshots dated with --time; forget --keep-daily keeps the newest of each of the last days', async () => {
  const days = ['2026-10-01T09:00:00Z', '2026-10-01T18:00:00Z', '2026-10-02T12:00:00Z', '2026-10-03T12:00:00Z'];
  for (const [i, time] of days.entries()) {
    await writeFile(join(source, 'messages.db'), noise(i + 1, 20_000));
    const backup = await cofferJson<{ snapshot: { time: string; seq: number } }>(['backup', '--time', time, source], env);
    expect(backup.code, backup.stderr).toBe(0);
    expect(backup.json.snapshot).toMatchObject({ time: new Date(time).toISOString(), seq: i + 1 });
  }
  const bad = await coffer(['--json', 'backup', '--time', 'last tuesday', source], env);
  expect(bad.code).toBe(1);
  expect(jsonError(bad).message).toContain('--time needs a time like');

  const forget = await coffer(['forget', '--keep-daily', '2', '--prune'], env);
  expect(forget.code, forget.stderr).toBe(0);
  const left = await cofferJson<{ snapshots: { time: string }[] }>(['snapshots'], env);
  expect(left.json.snapshots.map((s) => s.time)).toEqual([new Date(days[2] ?? '').toISOString(), new Date(days[3] ?? '').toISOString()]);
});
