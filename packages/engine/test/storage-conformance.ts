/**
 * The one conformance suite (design decision 4): every driver runs exactly
 * these tests, one per line of the contract in src/storage/storage.ts. Each
 * test gets a fresh, empty store from the factory and closes it afterwards.
 */
import { describe, expect, onTestFinished, test } from 'vitest';
import type { CofferErrorCode } from '@coffer/core';
import type { Storage, StoredObject } from '../src/storage/storage.ts';
import { pseudoRandomBytes } from '../../core/test/arbitraries.ts';

export interface ConformanceOptions {
  /**
   * false for a driver that can only check, then create (S3 without
   * If-None-Match): racing puts of one name may all succeed. The suite then
   * checks only that each put either succeeds or is E_STORAGE_EXISTS: the
   * content left depends on the server (s3rver writes objects in place, so
   * racing PUTs can even tear it). Default true: exactly one wins, whole.
   */
  readonly atomicCreate?: boolean;
  /** The same for swaps racing from one version (compare, then write). Default true. */
  readonly atomicSwap?: boolean;
  /**
   * How many objects the pagination test lists (default 1,200, past the
   * 1,000-key pages of S3 and many servers). A driver on a slow test server
   * may list fewer if it is also set to use smaller pages.
   */
  readonly manyObjects?: number;
}

/** Deterministic, seed-dependent bytes: distinct bodies, and torn or shifted reads show up. */
export function pattern(size: number, seed: number): Uint8Array {
  // Seeds are spread first: neighbouring seeds would otherwise start alike.
  return pseudoRandomBytes(size, Math.imul(seed, 2654435761));
}

/** Byte comparison that reports the first difference instead of diffing megabytes. */
export function expectBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual).toBeInstanceOf(Uint8Array);
  expect(actual.length).toBe(expected.length);
  const firstDifference = actual.findIndex((byte, i) => byte !== expected[i]);
  expect(firstDifference).toBe(-1);
}

export async function expectCode(promise: Promise<unknown>, code: CofferErrorCode): Promise<void> {
  await expect(promise).rejects.toMatchObject({ name: 'CofferError', code });
}

export async function collect(objects: AsyncIterable<StoredObject>): Promise<StoredObject[]> {
  const out: StoredObject[] = [];
  for await (const object of objects) out.push(object);
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

async function names(storage: Storage, prefix: string): Promise<string[]> {
  return (await collect(storage.list(prefix))).map((object) => object.name);
}

/** Runs `work` over `items` with at most `width` in flight. */
async function inParallel<T>(items: readonly T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: width }, lane));
}

const INVALID_NAMES: readonly string[] = [
  '',
  '/a',
  'a/',
  'a//b',
  '..',
  '../a',
  'a/../b',
  '.',
  'a/./b',
  'A',
  'a b',
  'a\\b',
  'a%2fb',
  'ä',
  'a\u0000b',
  'x'.repeat(256),
];

const INVALID_PREFIXES: readonly string[] = ['/', '/a', 'a//', '../', 'a/../', 'A', 'a b', 'x'.repeat(256)];

export function storageConformance(driver: string, factory: () => Promise<Storage>, options: ConformanceOptions = {}): void {
  const atomicCreate = options.atomicCreate ?? true;
  const atomicSwap = options.atomicSwap ?? true;
  const manyObjects = options.manyObjects ?? 1200;

  async function fresh(): Promise<Storage> {
    const storage = await factory();
    onTestFinished(() => storage.close());
    return storage;
  }

  describe(`${driver}: storage conformance`, () => {
    test('a fresh store lists nothing', async () => {
      const storage = await fresh();
      expect(await names(storage, '')).toEqual([]);
      expect(await names(storage, 'data/')).toEqual([]);
      expect(typeof storage.location).toBe('string');
    });

    test('put then get gives back the same bytes: empty, small and 5 MiB', async () => {
      const storage = await fresh();
      const bodies = { 'empty': new Uint8Array(0), 'small.bin': pattern(1, 1), 'data/ab/medium': pattern(4097, 2), 'big': pattern(5 * 1024 * 1024, 3) };
      for (const [name, body] of Object.entries(bodies)) await storage.put(name, body);
      for (const [name, body] of Object.entries(bodies)) expectBytes(await storage.get(name), body);
    });

    test('put is create-only: a second put is E_STORAGE_EXISTS and leaves the content', async () => {
      const storage = await fresh();
      const first = pattern(1000, 4);
      await storage.put('keys/one', first);
      await expectCode(storage.put('keys/one', pattern(2000, 5)), 'E_STORAGE_EXISTS');
      await expectCode(storage.put('keys/one', first), 'E_STORAGE_EXISTS');
      await expectCode(storage.put('keys/one', new Uint8Array(0)), 'E_STORAGE_EXISTS');
      expectBytes(await storage.get('keys/one'), first);
      expect(await storage.stat('keys/one')).toEqual({ name: 'keys/one', size: 1000 });
    });

    test('get reads byte ranges, clipped at the end', async () => {
      const storage = await fresh();
      const body = pattern(10_000, 6);
      await storage.put('pack', body);
      const cases: [number, number][] = [
        [0, 1], // start
        [0, 100],
        [4321, 1234], // middle
        [9_000, 1_000], // exactly to the end
        [9_999, 1],
        [9_990, 500], // clipped
        [0, 20_000], // whole object, clipped
        [10_000, 10], // starts at the end
        [12_345, 10], // starts past the end
        [5000, 0], // zero length
        [0, 0],
      ];
      for (const [offset, length] of cases) {
        expectBytes(await storage.get('pack', { offset, length }), body.subarray(offset, offset + length));
      }
    });

    test('a missing object: get is E_STORAGE_NOT_FOUND, stat and getVersioned are undefined', async () => {
      const storage = await fresh();
      await storage.put('present', pattern(10, 7));
      await expectCode(storage.get('absent'), 'E_STORAGE_NOT_FOUND');
      await expectCode(storage.get('absent', { offset: 0, length: 5 }), 'E_STORAGE_NOT_FOUND');
      await expectCode(storage.get('absent', { offset: 3, length: 0 }), 'E_STORAGE_NOT_FOUND');
      await expectCode(storage.get('dir/absent'), 'E_STORAGE_NOT_FOUND');
      expect(await storage.stat('absent')).toBeUndefined();
      expect(await storage.stat('dir/absent')).toBeUndefined();
      expect(await storage.getVersioned('absent')).toBeUndefined();
    });

    test('stat reports name and size', async () => {
      const storage = await fresh();
      await storage.put('index/0001', pattern(777, 8));
      await storage.put('index/empty', new Uint8Array(0));
      expect(await storage.stat('index/0001')).toEqual({ name: 'index/0001', size: 777 });
      expect(await storage.stat('index/empty')).toEqual({ name: 'index/empty', size: 0 });
      // A directory that only holds objects is not an object.
      expect(await storage.stat('index')).toBeUndefined();
    });

    test('list yields every object under a prefix once, with its size', async () => {
      const storage = await fresh();
      const sizes: Record<string, number> = {
        'config': 5,
        'data/00/aa': 1,
        'data/00/ab': 0,
        'data/01/ba': 300,
        'data-x': 2,
        'index/1': 3,
        'snapshots/2026-01-01t00.00': 4,
      };
      for (const [name, size] of Object.entries(sizes)) await storage.put(name, pattern(size, size));
      const all = await collect(storage.list(''));
      expect(all).toEqual(Object.keys(sizes).sort().map((name) => ({ name, size: sizes[name] })));
      expect(await names(storage, 'data/')).toEqual(['data/00/aa', 'data/00/ab', 'data/01/ba']);
      expect(await names(storage, 'data')).toEqual(['data-x', 'data/00/aa', 'data/00/ab', 'data/01/ba']);
      expect(await names(storage, 'data/0')).toEqual(['data/00/aa', 'data/00/ab', 'data/01/ba']);
      expect(await names(storage, 'data/00/a')).toEqual(['data/00/aa', 'data/00/ab']);
      expect(await names(storage, 'data/00/ab')).toEqual(['data/00/ab']);
      expect(await names(storage, 'config')).toEqual(['config']);
      expect(await names(storage, 'conf')).toEqual(['config']);
      expect(await names(storage, 'nothing/')).toEqual([]);
      expect(await names(storage, 'data/02/')).toEqual([]);
    });

    test(`list crosses result pages: ${String(manyObjects)} objects`, async () => {
      const storage = await fresh();
      const many = Array.from({ length: manyObjects }, (_, i) => `many/${String(i).padStart(4, '0')}`);
      await inParallel(many, 16, (name) => storage.put(name, pattern(3, name.length)));
      await storage.put('other', pattern(1, 9));
      const listed = await names(storage, 'many/');
      expect(listed.length).toBe(manyObjects);
      expect(listed).toEqual(many);
      expect((await names(storage, '')).length).toBe(manyObjects + 1);
    });

    test('delete removes an object; deleting a missing one is not an error', async () => {
      const storage = await fresh();
      await storage.put('locks/a', pattern(50, 10));
      await storage.put('locks/b', pattern(60, 11));
      await storage.delete('locks/a');
      await expectCode(storage.get('locks/a'), 'E_STORAGE_NOT_FOUND');
      expect(await storage.stat('locks/a')).toBeUndefined();
      expect(await names(storage, '')).toEqual(['locks/b']);
      await storage.delete('locks/a');
      await storage.delete('never/was');
      // The name is free again.
      const again = pattern(70, 12);
      await storage.put('locks/a', again);
      expectBytes(await storage.get('locks/a'), again);
    });

    test('swap creates, checks the version and replaces the mutable pointer', async () => {
      const storage = await fresh();
      const v1Body = pattern(40, 13);
      const v1 = await storage.swap('head', v1Body, null);
      expect(typeof v1).toBe('string');
      expect(await storage.getVersioned('head')).toEqual({ body: v1Body, version: v1 });
      expectBytes(await storage.get('head'), v1Body);
      expect(await storage.stat('head')).toEqual({ name: 'head', size: 40 });
      expect(await names(storage, '')).toEqual(['head']);

      // Creating again, or swapping from a version it does not have, changes nothing.
      await expectCode(storage.swap('head', pattern(41, 14), null), 'E_STORAGE_PRECONDITION');
      await expectCode(storage.swap('head', pattern(42, 15), `${v1}x`), 'E_STORAGE_PRECONDITION');
      await expectCode(storage.put('head', pattern(43, 16)), 'E_STORAGE_EXISTS');
      expect(await storage.getVersioned('head')).toEqual({ body: v1Body, version: v1 });

      const v2Body = pattern(30, 17);
      const v2 = await storage.swap('head', v2Body, v1);
      expect(v2).not.toBe(v1);
      expect(await storage.getVersioned('head')).toEqual({ body: v2Body, version: v2 });
      expectBytes(await storage.get('head'), v2Body);
      expect(await storage.stat('head')).toEqual({ name: 'head', size: 30 });
      // The old version is spent.
      await expectCode(storage.swap('head', pattern(44, 18), v1), 'E_STORAGE_PRECONDITION');
      expectBytes(await storage.get('head'), v2Body);

      // Swapping to different bytes of the same length still gives a new version.
      const v3Body = pattern(30, 19);
      const v3 = await storage.swap('head', v3Body, v2);
      expect(v3).not.toBe(v2);
      expectBytes(await storage.get('head', { offset: 10, length: 5 }), v3Body.subarray(10, 15));

      // A swap from a version of an object that is gone does not bring it back.
      await storage.delete('head');
      await expectCode(storage.swap('head', pattern(45, 20), v3), 'E_STORAGE_PRECONDITION');
      expect(await storage.getVersioned('head')).toBeUndefined();
    });

    test('an object written by put can be swapped from the version getVersioned gives', async () => {
      const storage = await fresh();
      await storage.put('refs/main', pattern(20, 21));
      const current = await storage.getVersioned('refs/main');
      expect(current?.body).toEqual(pattern(20, 21));
      const next = pattern(25, 22);
      await storage.swap('refs/main', next, current?.version ?? null);
      expectBytes(await storage.get('refs/main'), next);
    });

    test('invalid names, prefixes, ranges and bodies are E_INVALID_ARGUMENT', async () => {
      const storage = await fresh();
      const body = pattern(4, 23);
      for (const name of INVALID_NAMES) {
        await expectCode(storage.put(name, body), 'E_INVALID_ARGUMENT');
        await expectCode(storage.get(name), 'E_INVALID_ARGUMENT');
        await expectCode(storage.stat(name), 'E_INVALID_ARGUMENT');
        await expectCode(storage.delete(name), 'E_INVALID_ARGUMENT');
        await expectCode(storage.getVersioned(name), 'E_INVALID_ARGUMENT');
        await expectCode(storage.swap(name, body, null), 'E_INVALID_ARGUMENT');
      }
      for (const prefix of INVALID_PREFIXES) await expectCode(collect(storage.list(prefix)), 'E_INVALID_ARGUMENT');
      await storage.put('ok', body);
      for (const range of [{ offset: -1, length: 1 }, { offset: 0, length: -1 }, { offset: 0.5, length: 1 }, { offset: 0, length: Number.NaN }]) {
        await expectCode(storage.get('ok', range), 'E_INVALID_ARGUMENT');
      }
      await expectCode(storage.put('not-bytes', 'text' as unknown as Uint8Array), 'E_INVALID_ARGUMENT');
      await expectCode(storage.swap('ok', body, ''), 'E_INVALID_ARGUMENT');
      // Nothing of the above was stored; the longest valid name works.
      expect(await names(storage, '')).toEqual(['ok']);
      const longest = `${'d'.repeat(100)}/${'n'.repeat(154)}`;
      await storage.put(longest, body);
      expectBytes(await storage.get(longest), body);
      expect(await names(storage, 'd')).toEqual([longest]);
    });

    test(`concurrent puts of one name: ${atomicCreate ? 'exactly one wins' : 'each wins or is told it exists'}`, async () => {
      const storage = await fresh();
      const bodies = Array.from({ length: 8 }, (_, i) => pattern(64 * 1024 + i, 100 + i));
      const results = await Promise.allSettled(bodies.map((body) => storage.put('race/one', body)));
      const winners = results.flatMap((result, i) => (result.status === 'fulfilled' ? [i] : []));
      for (const result of results) {
        if (result.status === 'rejected') expect(result.reason).toMatchObject({ code: 'E_STORAGE_EXISTS' });
      }
      if (atomicCreate) {
        expect(winners.length).toBe(1);
        expectBytes(await storage.get('race/one'), bodies[winners[0] ?? -1] ?? new Uint8Array());
      } else {
        expect(winners.length).toBeGreaterThanOrEqual(1);
      }
      // Once the race is over, the name is taken for good.
      await expectCode(storage.put('race/one', pattern(10, 99)), 'E_STORAGE_EXISTS');
    });

    test(`concurrent swaps from one version: ${atomicSwap ? 'exactly one wins' : 'each wins or is refused'}`, async () => {
      const storage = await fresh();
      const base = await storage.swap('race/head', pattern(10, 200), null);
      const bodies = Array.from({ length: 6 }, (_, i) => pattern(20 + i, 201 + i));
      const results = await Promise.allSettled(bodies.map((body) => storage.swap('race/head', body, base)));
      const winners = results.flatMap((result, i) => (result.status === 'fulfilled' ? [i] : []));
      for (const result of results) {
        if (result.status === 'rejected') expect(result.reason).toMatchObject({ code: 'E_STORAGE_PRECONDITION' });
      }
      const current = await storage.getVersioned('race/head');
      if (atomicSwap) {
        expect(winners.length).toBe(1);
        const winner = winners[0] ?? -1;
        expect(current?.body).toEqual(bodies[winner]);
        expect(current?.version).toBe((results[winner] as PromiseFulfilledResult<string>).value);
      } else {
        expect(winners.length).toBeGreaterThanOrEqual(1);
        expect(current).toBeDefined();
      }
      // The base version is spent either way.
      await expectCode(storage.swap('race/head', pattern(5, 99), base), 'E_STORAGE_PRECONDITION');
    });

    test('stored bytes are the store\'s own: changing the caller\'s arrays changes nothing', async () => {
      const storage = await fresh();
      const body = pattern(16, 24);
      const original = body.slice();
      await storage.put('copy', body);
      body.fill(0);
      const read = await storage.get('copy');
      expectBytes(read, original);
      read.fill(1);
      expectBytes(await storage.get('copy'), original);
    });
  });
}
