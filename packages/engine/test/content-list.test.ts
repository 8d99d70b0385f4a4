/**
 * Content lists (src/repo/content-list.ts): the list blob layout, how a writer groups ids into a
 * tree of lists, and what a reader refuses. The blob store here is a plain map keyed by SHA-256,
 * so these tests see exactly which blobs a file costs.
 */
import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { CofferError, fromHex, toHex } from '@coffer/core';
import type { BlobType } from '../src/repo/blob.ts';
import {
  INLINE_CONTENT_LIMIT,
  LIST_FANOUT,
  contentKnown,
  decodeContentList,
  encodeContentList,
  expandContentList,
  fileContent,
  saveContent,
} from '../src/repo/content-list.ts';
import type { TreeNode } from '../src/repo/tree.ts';

class MapStore {
  readonly blobs = new Map<string, Uint8Array>();
  loads = 0;

  saveBlob(type: BlobType, plaintext: Uint8Array): Promise<{ id: Uint8Array }> {
    const id = createHash('sha256').update(plaintext).digest();
    this.blobs.set(`${type}:${id.toString('hex')}`, plaintext.slice());
    return Promise.resolve({ id: new Uint8Array(id) });
  }

  loadBlob(type: BlobType, id: Uint8Array): Promise<Uint8Array> {
    this.loads++;
    const blob = this.blobs.get(`${type}:${toHex(id)}`);
    if (!blob) return Promise.reject(new CofferError('E_INTEGRITY', `${type} ${toHex(id)} is not in the index`));
    return Promise.resolve(blob);
  }

  hasBlob(type: BlobType, id: Uint8Array): boolean {
    return this.blobs.has(`${type}:${toHex(id)}`);
  }
}

function ids(count: number, salt = ''): string[] {
  return Array.from({ length: count }, (_, i) => createHash('sha256').update(`${salt}chunk ${String(i)}`).digest('hex'));
}

function fileNode(fields: { content: string[] } | { contentList: string }, size = 0): TreeNode {
  return { name: 'msgstore.db', type: 'file', mode: 0o600, mtime: '0', size, ...fields };
}

async function codeOf(run: () => unknown): Promise<string> {
  try {
    await run();
    return 'RETURNED';
  } catch (error) {
    return error instanceof CofferError ? error.code : `UNTYPED ${String(error)}`;
  }
}

describe('the list blob layout', () => {
  test('round-trips, with the header of format.md §9.12', () => {
    const entries = ids(3).map((id) => fromHex(id));
    const bytes = encodeContentList({ level: 2, ids: entries });
    expect(toHex(bytes.subarray(0, 8))).toBe(`${toHex(new TextEncoder().encode('CFCL'))}01020003`);
    expect(bytes.length).toBe(8 + 3 * 32);
    expect(decodeContentList(bytes, 'test')).toEqual({ level: 2, ids: entries });
  });

  test('rejects what a writer never produces', async () => {
    const good = encodeContentList({ level: 0, ids: ids(2).map((id) => fromHex(id)) });
    const patched = (at: number, value: number): Uint8Array => {
      const copy = good.slice();
      copy[at] = value;
      return copy;
    };
    expect(await codeOf(() => decodeContentList(patched(0, 0x78), 't'))).toBe('E_FORMAT');
    expect(await codeOf(() => decodeContentList(patched(4, 2), 't'))).toBe('E_UNSUPPORTED_VERSION');
    expect(await codeOf(() => decodeContentList(patched(5, 8), 't'))).toBe('E_FORMAT');
    expect(await codeOf(() => decodeContentList(patched(7, 0), 't'))).toBe('E_FORMAT'); // count 0
    expect(await codeOf(() => decodeContentList(patched(7, 3), 't'))).toBe('E_TRUNCATED');
    expect(await codeOf(() => decodeContentList(patched(7, 1), 't'))).toBe('E_FORMAT'); // trailing id
    expect(await codeOf(() => decodeContentList(good.subarray(0, 6), 't'))).toBe('E_TRUNCATED');
    expect(await codeOf(() => encodeContentList({ level: 0, ids: [] }))).toBe('E_INVALID_ARGUMENT');
  });
});

describe('writing and reading a file content', () => {
  test(`up to ${String(INLINE_CONTENT_LIMIT)} chunks stay inline; more go into lists`, async () => {
    const store = new MapStore();
    expect(await saveContent(store, ids(INLINE_CONTENT_LIMIT))).toEqual({ content: ids(INLINE_CONTENT_LIMIT) });
    expect(store.blobs.size).toBe(0);
    const listed = await saveContent(store, ids(INLINE_CONTENT_LIMIT + 1));
    expect(listed).toHaveProperty('contentList');
    expect(store.blobs.size).toBe(3); // two level-0 lists (32 + 1 ids) and their root
  });

  test.each([33, 1024, 1025, 40_000])('%i chunks come back in order from a tree of 32-id lists', async (count) => {
    const store = new MapStore();
    const saved = await saveContent(store, ids(count));
    expect(await fileContent(store, fileNode(saved))).toEqual(ids(count));
    let expected = 0;
    for (let n = count; n > 1; n = Math.ceil(n / LIST_FANOUT)) expected += Math.ceil(n / LIST_FANOUT);
    expect(store.blobs.size).toBe(expected);
  });

  test('changing one chunk of a large file writes one list per level, no more', async () => {
    const store = new MapStore();
    const before = ids(40_000);
    await saveContent(store, before);
    const after = [...before];
    after[12_345] = ids(1, 'changed')[0] ?? '';
    const blobs = store.blobs.size;
    await saveContent(store, after);
    expect(store.blobs.size - blobs).toBe(4); // 40,000 ids: levels of 1250, 40, 2 and 1 lists
  });

  test('a forged list that names a list of the wrong level is refused', async () => {
    const store = new MapStore();
    const leaf = await store.saveBlob('tree', encodeContentList({ level: 0, ids: ids(2).map((id) => fromHex(id)) }));
    const sameLevel = await store.saveBlob('tree', encodeContentList({ level: 0, ids: [leaf.id] }));
    const twoUp = await store.saveBlob('tree', encodeContentList({ level: 2, ids: [leaf.id] }));
    // A level-0 list names data blobs: reading it does not follow `leaf` as a list.
    expect(await expandContentList(store, toHex(sameLevel.id))).toEqual([toHex(leaf.id)]);
    expect(await codeOf(() => expandContentList(store, toHex(twoUp.id)))).toBe('E_FORMAT');
  });

  test('contentKnown: false when a list or a data blob is missing, true when all are there', async () => {
    const store = new MapStore();
    const data = ids(100);
    for (const id of data) store.blobs.set(`data:${id}`, new Uint8Array(1));
    const saved = await saveContent(store, data);
    const node = fileNode(saved);
    expect(await contentKnown(store, node)).toBe(true);
    store.blobs.delete(`data:${data[77] ?? ''}`);
    expect(await contentKnown(store, node)).toBe(false);
    store.blobs.set(`data:${data[77] ?? ''}`, new Uint8Array(1));
    const firstList = [...store.blobs.keys()].find((k) => k.startsWith('tree:')) ?? '';
    store.blobs.delete(firstList);
    const loads = store.loads;
    expect(await contentKnown(store, node)).toBe(false);
    expect(await contentKnown(store, fileNode({ content: data.slice(0, 5) }))).toBe(true);
    expect(store.loads - loads).toBeLessThan(5); // the missing list is never read
  });
});
