/**
 * The walk's lstat (backup-walk.ts statAll): synchronous while calls are fast, concurrent once
 * they are slow on average. Both ways must see the same thing, failures included, in the same places.
 */
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { judge, statAll, statMode } from '../src/node/backup-walk.ts';

function summary(entry: BigIntStats | Error): unknown {
  if (entry instanceof Error) return { error: (entry as NodeJS.ErrnoException).code };
  return { ino: entry.ino, size: entry.size, mode: entry.mode, mtimeNs: entry.mtimeNs, link: entry.isSymbolicLink() };
}

describe('the walk looks at entries', () => {
  let dir: string;
  let paths: string[];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-walk-stat-'));
    paths = [];
    for (let i = 0; i < 70; i++) {
      const path = join(dir, `file-${String(i)}`);
      await writeFile(path, 'x'.repeat(i));
      paths.push(path);
    }
    await symlink('file-1', join(dir, 'link'));
    // A dangling link is still an entry; a missing name is a failure in its place.
    await symlink('nowhere', join(dir, 'dangling'));
    paths.splice(10, 0, join(dir, 'link'), join(dir, 'missing'), join(dir, 'dangling'));
    paths.push(join(dir, 'also-missing'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('synchronously while calls are fast, as the concurrent way sees them', async () => {
    const concurrent = (await statAll(paths)).map(summary);
    const mode = statMode(Number.POSITIVE_INFINITY);
    const sync = (await statAll(paths, mode)).map(summary);
    expect(mode.sync).toBe(true);
    expect(sync).toEqual(concurrent);
    expect(sync[11]).toEqual({ error: 'ENOENT' });
    expect(sync.at(-1)).toEqual({ error: 'ENOENT' });
    expect((sync[10] as { link: boolean }).link).toBe(true);
    expect((sync[12] as { link: boolean }).link).toBe(true);
  });

  it('concurrently for the rest of the walk once calls are slow on average', async () => {
    const concurrent = (await statAll(paths)).map(summary);
    // Every call counts as slow: the first eight (the fewest the average is judged on) are synchronous, the rest are not.
    const mode = statMode(-1);
    const switched = (await statAll(paths, mode)).map(summary);
    expect(mode.sync).toBe(false);
    expect(switched).toEqual(concurrent);
    // The mode is shared by the whole walk: the next directory starts concurrent.
    expect((await statAll(paths.slice(0, 3), mode)).map(summary)).toEqual(concurrent.slice(0, 3));
  });

  it('judges by the recent average without the slowest call: one stall does not switch', () => {
    const mode = statMode(0.5);
    for (let i = 0; i < 40; i++) judge(mode, 0.01);
    judge(mode, 80);
    for (let i = 0; i < 40; i++) judge(mode, 0.01);
    expect(mode.sync).toBe(true);
    // A network file system: every call takes a millisecond or more.
    for (let i = 0; i < 7; i++) judge(mode, 1.5);
    expect(mode.sync).toBe(true);
    for (let i = 0; i < 10; i++) judge(mode, 1.5);
    expect(mode.sync).toBe(false);
  });
});
