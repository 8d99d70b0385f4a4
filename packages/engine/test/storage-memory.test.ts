import { describe, expect, test } from 'vitest';
import { CofferError } from '@coffer/core';
import { MemoryStorage } from '../src/storage/memory.ts';
import { expectBytes, expectCode, pattern, storageConformance } from './storage-conformance.ts';

storageConformance('memory', () => Promise.resolve(new MemoryStorage()));

describe('MemoryStorage fault injection', () => {
  test('failNext fails the next calls of one operation, then lets them through', async () => {
    const storage = new MemoryStorage();
    const outage = new CofferError('E_STORAGE_UNAVAILABLE', 'simulated outage');
    storage.failNext('put', outage, { times: 2 });
    await expect(storage.put('a', pattern(3, 1))).rejects.toBe(outage);
    await expect(storage.put('a', pattern(3, 1))).rejects.toBe(outage);
    expect(await storage.stat('a')).toBeUndefined();
    await storage.put('a', pattern(3, 1));
    expectBytes(await storage.get('a'), pattern(3, 1));
  });

  test('a fault after the effect stores the object but reports failure, as a lost reply does', async () => {
    const storage = new MemoryStorage();
    storage.failNext('swap', new CofferError('E_STORAGE_UNAVAILABLE', 'reply lost'), { afterEffect: true });
    await expectCode(storage.swap('head', pattern(5, 2), null), 'E_STORAGE_UNAVAILABLE');
    expectBytes(await storage.get('head'), pattern(5, 2));
  });

  test('faults only hit their own operation', async () => {
    const storage = new MemoryStorage();
    storage.failNext('list', new CofferError('E_STORAGE_FAILED', 'listing broke'));
    await storage.put('x', pattern(1, 3));
    expect(await storage.stat('x')).toEqual({ name: 'x', size: 1 });
    await expect(async () => {
      for await (const object of storage.list('')) expect(object).toBeDefined();
    }).rejects.toMatchObject({ code: 'E_STORAGE_FAILED' });
  });

  test('the quota turns writes past it into E_STORAGE_FULL, and writes nothing', async () => {
    const storage = new MemoryStorage({ quotaBytes: 100 });
    await storage.put('a', pattern(60, 4));
    await expectCode(storage.put('b', pattern(41, 5)), 'E_STORAGE_FULL');
    expect(await storage.stat('b')).toBeUndefined();
    await storage.put('b', pattern(40, 5));
    expect(storage.usedBytes).toBe(100);
    // A swap is charged for the difference only.
    const version = await storage.swap('c', new Uint8Array(0), null);
    await expectCode(storage.swap('c', pattern(1, 6), version), 'E_STORAGE_FULL');
    storage.quotaBytes = undefined;
    await storage.swap('c', pattern(1, 6), version);
  });

  test('tamper replaces bytes behind the client\'s back and changes the version', async () => {
    const storage = new MemoryStorage();
    await storage.put('pack', pattern(10, 7));
    const before = await storage.getVersioned('pack');
    storage.tamper('pack', pattern(10, 8));
    expectBytes(await storage.get('pack'), pattern(10, 8));
    expect((await storage.getVersioned('pack'))?.version).not.toBe(before?.version);
  });
});
