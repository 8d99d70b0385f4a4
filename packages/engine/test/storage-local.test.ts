import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { LocalFs } from '../src/node/local-fs.ts';
import { LocalStorage } from '../src/node/index.ts';
import { collect, expectBytes, expectCode, pattern, storageConformance } from './storage-conformance.ts';

let base = '';
let counter = 0;

beforeAll(async () => {
  base = await fs.mkdtemp(join(tmpdir(), 'coffer-local-'));
});

afterAll(async () => {
  await fs.rm(base, { recursive: true, force: true });
});

/** A fresh store in a directory that does not exist yet: the driver creates what it needs. */
function freshRoot(): string {
  return join(base, `store-${String(++counter)}`);
}

storageConformance('local', () => Promise.resolve(new LocalStorage(freshRoot())));

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: simulated`), { code });
}

/** node:fs/promises whose file handles fail `method` with `code` for files matching `target`. */
function failingHandles(method: 'writeFile' | 'sync', code: string, target: RegExp): LocalFs {
  return {
    ...fs,
    open: (async (path: string, flags?: string, mode?: number) => {
      const handle = await fs.open(path, flags, mode);
      if (!target.test(path)) return handle;
      return new Proxy(handle, {
        get(real, property) {
          if (property === method) return () => Promise.reject(errno(code));
          const value: unknown = Reflect.get(real, property);
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(real) : value;
        },
      });
    }) as LocalFs['open'],
  };
}

async function filesUnder(dir: string): Promise<string[]> {
  return (await fs.readdir(dir, { recursive: true })).sort();
}

describe('LocalStorage on disk', () => {
  test('objects are plain files under the root, and no temp file stays behind', async () => {
    const root = freshRoot();
    const storage = new LocalStorage(root);
    await storage.put('data/ab/abcdef', pattern(100, 1));
    await storage.swap('head', pattern(10, 2), null);
    expect(await filesUnder(root)).toEqual(['data', 'data/ab', 'data/ab/abcdef', 'head']);
    expectBytes(new Uint8Array(await fs.readFile(join(root, 'data/ab/abcdef'))), pattern(100, 1));
    expect(storage.location).toBe(root);
  });

  test('crash leftovers: a temp file is invisible to list and get, and list removes it once stale', async () => {
    const root = freshRoot();
    const storage = new LocalStorage(root, { staleTempMs: 60_000 });
    await storage.put('data/00/real', pattern(10, 3));
    const stale = join(root, 'data/00/.torn.~tmp-0123abcd');
    const fresh = join(root, 'data/00/.inflight.~tmp-89abcdef');
    await fs.writeFile(stale, pattern(5, 4));
    await fs.writeFile(fresh, pattern(5, 5));
    const anHourAgo = new Date(Date.now() - 3_600_000);
    await fs.utimes(stale, anHourAgo, anHourAgo);
    expect(await collect(storage.list(''))).toEqual([{ name: 'data/00/real', size: 10 }]);
    await expectCode(storage.get('data/00/torn'), 'E_STORAGE_NOT_FOUND');
    // The stale one is gone; the young one may belong to a writer still at work.
    expect(await filesUnder(join(root, 'data/00'))).toEqual(['.inflight.~tmp-89abcdef', 'real']);
  });

  test('a lock file left by a crashed swap is broken once stale; a live one makes swap wait, then give up', async () => {
    const root = freshRoot();
    const storage = new LocalStorage(root, { lock: { staleMs: 5_000, waitMs: 300 } });
    const v1 = await storage.swap('head', pattern(4, 6), null);
    const lockFile = join(root, '.head.~lock');
    await fs.writeFile(lockFile, 'someone-else');
    const started = Date.now();
    await expectCode(storage.swap('head', pattern(4, 7), v1), 'E_STORAGE_UNAVAILABLE');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expectBytes(await storage.get('head'), pattern(4, 6));
    const old = new Date(Date.now() - 60_000);
    await fs.utimes(lockFile, old, old);
    await storage.swap('head', pattern(4, 7), v1);
    expectBytes(await storage.get('head'), pattern(4, 7));
    expect(await filesUnder(root)).toEqual(['head']);
  });

  test('ENOSPC while writing or at fsync is E_STORAGE_FULL: nothing is stored and no temp file stays', async () => {
    for (const method of ['writeFile', 'sync'] as const) {
      const root = freshRoot();
      const storage = new LocalStorage(root, { fs: failingHandles(method, 'ENOSPC', /\.~tmp-/) });
      await expectCode(storage.put('data/full', pattern(1000, 8)), 'E_STORAGE_FULL');
      await expectCode(storage.swap('head', pattern(10, 9), null), 'E_STORAGE_FULL');
      const plain = new LocalStorage(root);
      expect(await collect(plain.list(''))).toEqual([]);
      expect(await filesUnder(root)).toEqual(['data']);
    }
  });

  test('EDQUOT is E_STORAGE_FULL; EACCES and EPERM are E_STORAGE_DENIED; EIO is E_STORAGE_FAILED, none retried', async () => {
    const cases = [
      ['EDQUOT', 'E_STORAGE_FULL'],
      ['EACCES', 'E_STORAGE_DENIED'],
      ['EPERM', 'E_STORAGE_DENIED'],
      ['EIO', 'E_STORAGE_FAILED'],
    ] as const;
    for (const [code, expected] of cases) {
      let opens = 0;
      const injected: LocalFs = {
        ...fs,
        open: () => {
          opens++;
          return Promise.reject(errno(code));
        },
      };
      const storage = new LocalStorage(freshRoot(), { fs: injected });
      await expectCode(storage.get('x'), expected);
      expect(opens).toBe(1);
    }
  });

  test('EMFILE is transient: retried, then E_STORAGE_UNAVAILABLE with the cause', async () => {
    let opens = 0;
    const injected: LocalFs = {
      ...fs,
      open: () => {
        opens++;
        return Promise.reject(errno('EMFILE'));
      },
    };
    const storage = new LocalStorage(freshRoot(), { fs: injected, retry: { baseDelayMs: 1 } });
    await expect(storage.get('x')).rejects.toMatchObject({ code: 'E_STORAGE_UNAVAILABLE', cause: { message: 'get x: EMFILE' } });
    expect(opens).toBe(5);
  });

  test('a retried put that finds its own bytes from the earlier try succeeds', async () => {
    // The first directory fsync after the link fails transiently: the object landed, the caller saw an error.
    let dirSyncFailures = 1;
    const root = freshRoot();
    const injected: LocalFs = {
      ...fs,
      open: (async (path: string, flags?: string, mode?: number) => {
        const handle = await fs.open(path, flags, mode);
        if (path !== join(root, 'data') || dirSyncFailures === 0) return handle;
        return new Proxy(handle, {
          get(real, property) {
            if (property === 'sync' && dirSyncFailures > 0 && flags === 'r') {
              return () => {
                dirSyncFailures--;
                return Promise.reject(errno('EAGAIN'));
              };
            }
            const value: unknown = Reflect.get(real, property);
            return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(real) : value;
          },
        });
      }) as LocalFs['open'],
    };
    const storage = new LocalStorage(root, { fs: injected, retry: { baseDelayMs: 1 } });
    await fs.mkdir(join(root, 'data'), { recursive: true });
    await storage.put('data/x', pattern(10, 10));
    expect(dirSyncFailures).toBe(0);
    expectBytes(await storage.get('data/x'), pattern(10, 10));
    // A different body is still refused.
    await expectCode(storage.put('data/x', pattern(10, 11)), 'E_STORAGE_EXISTS');
  });

  test('a put that lands while swap(null) creates the same name wins; the swap is E_STORAGE_PRECONDITION', async () => {
    const root = freshRoot();
    const injected: LocalFs = {
      ...fs,
      link: async (from, to) => {
        // Just before the swap publishes, a put (which takes no lock) creates the name.
        if (String(from).includes('.~tmp-') && String(to).endsWith('head')) await fs.writeFile(to, pattern(3, 16));
        return fs.link(from, to);
      },
    };
    const storage = new LocalStorage(root, { fs: injected });
    await expectCode(storage.swap('head', pattern(4, 17), null), 'E_STORAGE_PRECONDITION');
    expectBytes(await storage.get('head'), pattern(3, 16));
    expect(await filesUnder(root)).toEqual(['head']);
  });

  test('a name that is a directory of other objects, or below an object, is E_STORAGE_EXISTS', async () => {
    const storage = new LocalStorage(freshRoot());
    await storage.put('a/b', pattern(1, 12));
    await expectCode(storage.put('a', pattern(1, 13)), 'E_STORAGE_EXISTS');
    await storage.put('c', pattern(1, 14));
    await expectCode(storage.put('c/d', pattern(1, 15)), 'E_STORAGE_EXISTS');
    await expectCode(storage.get('a'), 'E_STORAGE_NOT_FOUND');
    await storage.delete('a');
    expect(await collect(storage.list(''))).toEqual([
      { name: 'a/b', size: 1 },
      { name: 'c', size: 1 },
    ]);
  });
});
