/** The pure pieces: formatting, the progress line, argument helpers, exit-code mapping. */
import { describe, expect, test } from 'vitest';
import { CofferError } from '@coffer/core';
import { integerOption, parseCommandArgs, prescan, stringsOption, timeOption } from '../src/args.ts';
import { EXIT, Interrupted, ReportedFailure, UsageError, errorCodeFor, exitCodeFor } from '../src/exit-codes.ts';
import { formatBytes, formatDuration, formatMode, nsToIso, table } from '../src/format.ts';
import { TerminalProgress, eta, renderProgress } from '../src/progress.ts';
import { stateDirectory } from '../src/state-dir.ts';
import { schemeOf } from '../src/storage-url.ts';

describe('format', () => {
  test('sizes, durations, modes, times', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1536)).toBe('1.50 KiB');
    expect(formatBytes(50 * 1024 ** 2)).toBe('50.0 MiB');
    expect(formatDuration(42_000)).toBe('0:42');
    expect(formatDuration(3_723_000)).toBe('1:02:03');
    expect(formatMode('dir', 0o755)).toBe('drwxr-xr-x');
    expect(formatMode('file', 0o600)).toBe('-rw-------');
    expect(formatMode('file', 0o4755)).toBe('-rwsr-xr-x');
    expect(formatMode('dir', 0o1777)).toBe('drwxrwxrwt');
    expect(nsToIso('1741064767891234567')).toBe('2025-03-04T05:06:07.891234567Z');
    expect(table(['A', 'Num'], [['x', '1'], ['long', '22']], [1])).toEqual(['A     Num', '---------', 'x       1', 'long   22']);
  });
});

describe('progress', () => {
  test('a line with counts, bytes, percentage and ETA', () => {
    const line = renderProgress('backup', { unit: 'files', done: 10, total: 40, bytes: 25 * 1024 ** 2, totalBytes: 100 * 1024 ** 2 }, 10_000, 120);
    expect(line).toBe('backup  [====>               ]   25%  10/40 files  25.0 MiB/100 MiB  ETA 0:30');
    expect(renderProgress('check', { unit: 'packs', done: 0, total: 3 }, 400)).toContain('0:00 elapsed');
    expect(renderProgress('x', { unit: 'files', done: 1, total: 1 }, 5000, 20)).toHaveLength(19);
    expect(eta(0.5, 10_000)).toBe(10_000);
    expect(eta(0, 10_000)).toBeUndefined();
  });

  test('redraws at most ten times a second, always the last state, and clears itself', () => {
    let now = 0;
    const writes: string[] = [];
    const progress = new TerminalProgress({ write: (s: string) => writes.push(s), isTTY: true, columns: 100 }, 'restore', () => now);
    for (let i = 1; i <= 50; i++) {
      now += 10;
      progress.update({ unit: 'files', done: i, total: 50 });
    }
    expect(writes.length).toBeLessThanOrEqual(6);
    expect(writes.at(-1)).toContain('50/50 files');
    progress.clear();
    expect(writes.at(-1)).toBe('\r\x1b[2K');
  });
});

describe('arguments', () => {
  test('global options anywhere, the command words, repeated options', () => {
    const pre = prescan(['-r', '/repo', 'key', '--json', 'add', '--label', 'x']);
    expect(pre.positionals.slice(0, 2)).toEqual(['key', 'add']);
    expect(pre.values.repo).toBe('/repo');
    const args = parseCommandArgs(['backup', '--tag', 'a', '/x', '--tag', 'b', '-q', '--', '-odd'], { tag: { type: 'string', multiple: true, description: '' } }, 'backup');
    expect(stringsOption(args, 'tag')).toEqual(['a', 'b']);
    expect(args.positionals).toEqual(['backup', '/x', '-odd']);
    expect(() => parseCommandArgs(['backup', '--nope'], {}, 'backup')).toThrow(UsageError);
    const keep = parseCommandArgs(['forget', '--keep-last', '0'], { 'keep-last': { type: 'string', description: '' } }, 'forget');
    expect(() => integerOption(keep, 'keep-last', 'forget', 1)).toThrow('--keep-last needs a whole number of at least 1, not "0"');
  });

  test('--time: local times, UTC and offsets, a date alone; anything else is a usage error', () => {
    const time = (text: string) => timeOption(parseCommandArgs(['backup', '--time', text], { time: { type: 'string', description: '' } }, 'backup'), 'time', 'backup');
    expect(time('2026-11-01 14:30:05')).toEqual(new Date(2026, 10, 1, 14, 30, 5));
    expect(time('2026-11-01T14:30')).toEqual(new Date(2026, 10, 1, 14, 30));
    expect(time('2026-11-01')).toEqual(new Date(2026, 10, 1));
    expect(time('2026-11-01T12:00:00Z')?.toISOString()).toBe('2026-11-01T12:00:00.000Z');
    expect(time('2026-11-01 12:00:00+02:00')?.toISOString()).toBe('2026-11-01T10:00:00.000Z');
    for (const bad of ['yesterday', '2026-13-01', '2026-11-01 25:00', '1969-12-31', '2026-11-01T12:00:00 UTC', '']) {
      expect(() => time(bad)).toThrow(UsageError);
    }
  });

  test('repository schemes', () => {
    expect(schemeOf('/srv/backup')).toBe('local');
    expect(schemeOf('local:/srv/backup')).toBe('local');
    expect(schemeOf('C:\\backup')).toBe('local');
    expect(schemeOf('s3:https://s3.example.com/bucket/prefix')).toBe('s3');
    expect(schemeOf('webdav:https://dav.example.com/coffer')).toBe('webdav');
    expect(() => schemeOf('rest:https://x')).toThrow('unsupported repository scheme');
  });

  test('the state directory', () => {
    expect(stateDirectory({ COFFER_STATE_DIR: '/a', XDG_STATE_HOME: '/b', HOME: '/c' })).toBe('/a');
    expect(stateDirectory({ XDG_STATE_HOME: '/b', HOME: '/c' })).toBe('/b/coffer');
    expect(stateDirectory({ HOME: '/c' })).toBe('/c/.local/state/coffer');
  });
});

describe('exit codes', () => {
  test('restic’s numbers', () => {
    expect(exitCodeFor(new CofferError('E_REPOSITORY_NOT_FOUND', ''))).toBe(10);
    expect(exitCodeFor(new CofferError('E_REPOSITORY_LOCKED', ''))).toBe(11);
    for (const code of ['E_WRONG_KEY', 'E_RECOVERY_KEY_TYPO', 'E_RECOVERY_KEY_FORMAT'] as const) expect(exitCodeFor(new CofferError(code, ''))).toBe(12);
    expect(exitCodeFor(new CofferError('E_ROLLBACK', ''))).toBe(1);
    expect(exitCodeFor(new CofferError('E_LAST_KEYSLOT', ''))).toBe(1);
    expect(exitCodeFor(new UsageError('x'))).toBe(1);
    expect(exitCodeFor(new Interrupted('SIGINT'))).toBe(EXIT.interruptedInt);
    expect(exitCodeFor(new Interrupted('SIGTERM'))).toBe(143);
    expect(exitCodeFor(new ReportedFailure('E_INTEGRITY', 'x'))).toBe(1);
    expect(errorCodeFor(Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' }))).toBe('E_IO');
    expect(errorCodeFor(new TypeError('bug'))).toBe('E_INTERNAL');
  });
});
