/**
 * A repository written by Node's engine (data/node-repository.json, make-node-repository.ts) is
 * read by the portable engine — WebCrypto, the pure-JavaScript zstd decoder, no Node API — in
 * Node and in Chromium alike: every file of the snapshot reads back byte for byte, its SQLite
 * pages through their content list, and check --read-data finds nothing wrong. This is what a web
 * app restoring a backup made by the CLI does.
 */
import { describe, expect, test } from 'vitest';
import { fromHex, parseRecoveryKey, toHex } from '@coffer/core';
import { MemoryStorage } from '../../src/storage/memory.ts';
import { Repository } from '../../src/repo/repository.ts';
import { checkRepository } from '../../src/repo/check.ts';
import { fileContentIds } from '../../src/repo/content-list.ts';
import { type Codec, portableCodec } from '../../src/repo/blob.ts';
import { decodeTree, type TreeNode } from '../../src/repo/tree.ts';
import type { NodeRepositoryFixture } from './make-node-repository.ts';

const fixture = Object.values(import.meta.glob('./data/node-repository.json', { eager: true, import: 'default' }))[0] as NodeRepositoryFixture;

function base64Bytes(text: string): Uint8Array {
  const binary = atob(text);
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

async function storageOf(objects: Record<string, string>): Promise<MemoryStorage> {
  const storage = new MemoryStorage();
  for (const [name, body] of Object.entries(objects)) await storage.put(name, base64Bytes(body));
  return storage;
}

/** portableCodec, counting the zstd payloads it decodes. */
function counting(codec: Codec): { codec: Codec; decoded: () => number } {
  let decoded = 0;
  return {
    codec: {
      compress: (data) => codec.compress(data),
      decompress: (data, rawLength) => {
        decoded++;
        return codec.decompress(data, rawLength);
      },
    },
    decoded: () => decoded,
  };
}

async function files(repository: Repository, treeId: string, prefix: string, out: Map<string, TreeNode>): Promise<Map<string, TreeNode>> {
  const tree = decodeTree(await repository.loadBlob('tree', fromHex(treeId)), `tree ${treeId}`);
  for (const node of tree.nodes) {
    const path = prefix === '' ? node.name : `${prefix}/${node.name}`;
    if (node.type === 'dir' && node.subtree) await files(repository, node.subtree, path, out);
    if (node.type === 'file') out.set(path, node);
  }
  return out;
}

async function sha256(bytes: Uint8Array): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes.slice())));
}

describe('a repository written by Node, read by the portable engine', () => {
  test('every file reads back byte for byte, SQLite pages included, through zstd', async () => {
    const zstd = counting(portableCodec);
    const repository = await Repository.open(await storageOf(fixture.objects), { type: 'recovery-key', recoveryKey: parseRecoveryKey(fixture.recoveryKey) }, { codec: zstd.codec });
    const [snapshot, ...more] = await repository.snapshots();
    expect(more).toEqual([]);
    if (!snapshot) throw new Error('no snapshot');
    const found = await files(repository, snapshot.snapshot.tree, '', new Map());
    expect([...found.keys()].sort()).toEqual(Object.keys(fixture.files).sort());
    const database = found.get('chat/msgstore.db');
    expect(database && 'contentList' in database).toBe(true);
    for (const [path, node] of found) {
      // 32 bytes per chunk id, in order.
      const ids = await fileContentIds(repository, node);
      const parts: Uint8Array[] = [];
      for (let at = 0; at < ids.length; at += 32) parts.push(await repository.loadBlob('data', ids.subarray(at, at + 32)));
      const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const part of parts) {
        bytes.set(part, at);
        at += part.length;
      }
      expect({ path, size: bytes.length, sha256: await sha256(bytes) }).toEqual({ path, ...fixture.files[path] });
    }
    // The database's 35 pages, the notes, the trees and the content list are zstd in the repository.
    expect(zstd.decoded()).toBeGreaterThan(35);
  });

  test('check --read-data: every pack id, header and blob verifies', async () => {
    const repository = await Repository.open(await storageOf(fixture.objects), { type: 'recovery-key', recoveryKey: parseRecoveryKey(fixture.recoveryKey) });
    const report = await checkRepository(repository, { readData: true });
    expect(report.problems).toEqual([]);
    expect(report.blobsRead).toBeGreaterThan(35);
  });

  test('a zstd payload that does not decode is E_FORMAT; the codec never compresses', async () => {
    // zstd's magic, then a frame header cut short.
    await expect(portableCodec.decompress(Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x00, 0x01, 0x02]), 300)).rejects.toMatchObject({ code: 'E_FORMAT' });
    await expect(portableCodec.decompress(Uint8Array.from([1, 2, 3, 4, 5, 6]), 300)).rejects.toMatchObject({ code: 'E_FORMAT' });
    expect(await portableCodec.compress(new TextEncoder().encode('abc'.repeat(100)))).toBeUndefined();
  });

  test('a blob whose zstd payload decodes to other bytes than its id names is refused', async () => {
    // Writes a repository in this runtime whose codec "decompresses" to the wrong bytes, standing in for a decoder bug.
    const storage = await storageOf(fixture.objects);
    const secret = { type: 'recovery-key', recoveryKey: parseRecoveryKey(fixture.recoveryKey) } as const;
    const lying: Codec = { compress: () => Promise.resolve(undefined), decompress: (_data, rawLength) => Promise.resolve(new Uint8Array(rawLength)) };
    const repository = await Repository.open(storage, secret, { codec: lying });
    const [snapshot] = await repository.snapshots();
    if (!snapshot) throw new Error('no snapshot');
    await expect(repository.loadBlob('tree', fromHex(snapshot.snapshot.tree))).rejects.toMatchObject({ code: 'E_INTEGRITY', message: expect.stringContaining('does not hash to its id') as unknown });
  });
});
