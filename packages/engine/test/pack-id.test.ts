/**
 * Pack ids (format.md §9.5): a version-2 pack is named by the SHA-256 of its preamble, header
 * frame and header length, and `check --read-data` still notices a change to any byte of it —
 * the blob frames through AES-GCM, the rest through the id. Version-1 packs, named by the hash
 * of every byte, stay readable and checkable.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { LABELS, concatBytes, randomBytes } from '@coffer/core';
import { MemoryStorage } from '../src/storage/memory.ts';
import { Repository } from '../src/repo/repository.ts';
import { checkRepository } from '../src/repo/check.ts';
import { prune } from '../src/repo/prune.ts';
import { PACK_PREAMBLE_BYTES, blobAad, packId, packKey, packName, type PackEntry } from '../src/repo/pack.ts';
import { encodeEntries } from '../src/repo/entries.ts';
import { PACK_ALIGN } from '../src/repo/pack-layout.ts';
import { backup } from '../src/node/backup.ts';
import { zstdCodec } from '../src/node/zstd-codec.ts';
import { nodeBulkCrypto } from '../src/node/node-crypto.ts';
import { first, params, secret, tempDirPerTest } from './fixtures.ts';

const dir = tempDirPerTest('coffer-pack-id-');
const options = { codec: zstdCodec(), packSize: 256 * 1024, params };

async function packNames(storage: MemoryStorage): Promise<string[]> {
  const names: string[] = [];
  for await (const o of storage.list('data/')) names.push(o.name);
  return names.sort();
}

async function sourceWith(files: Record<string, Uint8Array | string>): Promise<string> {
  const source = join(dir.path, 'source');
  await mkdir(source, { recursive: true });
  for (const [name, content] of Object.entries(files)) await writeFile(join(source, name), content);
  return source;
}

const idOfName = (name: string): string => name.slice(name.lastIndexOf('/') + 1);

describe('pack ids', () => {
  test('packs written by a backup (pack workers) and by prune (repacking) are named by their id', async () => {
    const storage = new MemoryStorage();
    const repository = await Repository.init(storage, first, options);
    const source = await sourceWith({ 'a.bin': randomBytes(600_000), 'b.txt': 'chat line\n'.repeat(40_000) });
    await backup(repository, [source]);
    await writeFile(join(source, 'a.bin'), randomBytes(300_000));
    await backup(repository, [source]);
    const [older] = await repository.snapshots();
    if (!older) throw new Error('no snapshot');
    await storage.delete(older.name);
    const reopened = await Repository.open(storage, secret, { codec: zstdCodec() });
    // Keeps b.txt's blobs from the first backup's packs, whose a.bin blobs are now unused: repacked.
    expect((await prune(reopened, { maxUnused: 0 })).packsDeleted).toBeGreaterThan(0);
    const names = await packNames(storage);
    expect(names.length).toBeGreaterThan(2);
    for (const name of names) {
      const bytes = await storage.get(name);
      expect(bytes[4], name).toBe(2);
      // Padded to a multiple of 64 KiB (format.md §9.5), by the workers and by prune alike.
      expect(bytes.length % PACK_ALIGN, name).toBe(0);
      expect(await packId(bytes, name, nodeBulkCrypto), name).toBe(idOfName(name));
      // The same rule read plainly: SHA-256(first 37 bytes ‖ header frame ‖ header length).
      const headerStart = bytes.length - 4 - new DataView(bytes.buffer, bytes.byteOffset).getUint32(bytes.length - 4);
      const plain = createHash('sha256').update(bytes.subarray(0, 37)).update(bytes.subarray(headerStart)).digest('hex');
      expect(plain).toBe(idOfName(name));
    }
    const after = await Repository.open(storage, secret, { codec: zstdCodec() });
    expect((await checkRepository(after, { readData: true })).problems).toEqual([]);
  });

  test('check --read-data names a version-2 pack whatever byte of it changes', async () => {
    const storage = new MemoryStorage();
    const repository = await Repository.init(storage, first, options);
    await backup(repository, [await sourceWith({ 'a.bin': randomBytes(5000), 'b.bin': randomBytes(7000) })]);
    const names = await packNames(storage);
    // The data pack: its blob frames, header frame and trailer are each a few positions below.
    const data = (await Promise.all(names.map(async (n) => ({ n, bytes: await storage.get(n) })))).sort((x, y) => y.bytes.length - x.bytes.length)[0];
    if (!data) throw new Error('no pack');
    const original = data.bytes.slice();
    const length = original.length;
    const headerStart = length - 4 - new DataView(original.buffer).getUint32(length - 4);
    const positions = new Set<number>();
    for (let i = 0; i < PACK_PREAMBLE_BYTES; i++) positions.add(i);
    for (let at = PACK_PREAMBLE_BYTES; at < headerStart; at += 997) positions.add(at);
    for (let i = 1; i <= 16; i++) positions.add(headerStart - i); // the last blob frame's tag
    for (let at = headerStart; at < length; at += 7) positions.add(at);
    for (let i = 1; i <= 4; i++) positions.add(length - i);
    for (const at of positions) {
      const bytes = original.slice();
      bytes[at] = (bytes[at] ?? 0) ^ 0x01;
      storage.tamper(data.n, bytes);
      const { problems } = await checkRepository(repository, { readData: true });
      expect(
        problems.map((p) => p.object),
        `byte ${String(at)} of ${String(length)}`,
      ).toContain(data.n);
    }
    storage.tamper(data.n, original);
    expect((await checkRepository(repository, { readData: true })).problems).toEqual([]);
  });

  test('a version-1 pack (named by the hash of every byte) is read, restored from and checked', async () => {
    const storage = new MemoryStorage();
    const repository = await Repository.init(storage, first, options);
    const plaintext = new TextEncoder().encode('a blob in a version-1 pack');
    const { id: blobId } = await repository.saveBlob('tree', plaintext);
    await repository.flush();
    // Built by hand as a version-1 writer did: preamble version 1, the same frames and header.
    const salt = randomBytes(32);
    const preamble = concatBytes(new TextEncoder().encode('CFPK'), Uint8Array.of(1), salt);
    const key = await packKey(repository.keys.blobEncryption, salt, nodeBulkCrypto);
    const frame = await key.seal(concatBytes(Uint8Array.of(0), plaintext), blobAad('data', blobId));
    const entries: PackEntry[] = [{ type: 'data', id: blobId, offset: PACK_PREAMBLE_BYTES, length: frame.length, rawLength: plaintext.length }];
    // A version-1 header: count ‖ entries, no padding field.
    const header = await key.seal(concatBytes(Uint8Array.of(0, 0, 0, 1), encodeEntries(entries)), concatBytes(new TextEncoder().encode(LABELS.packHeaderAad), preamble));
    const trailer = new Uint8Array(4);
    new DataView(trailer.buffer).setUint32(0, header.length);
    const pack = concatBytes(preamble, frame, header, trailer);
    const id = createHash('sha256').update(pack).digest('hex');
    expect(await packId(pack, id, nodeBulkCrypto)).toBe(id);
    await storage.put(packName(id), pack);
    repository.packStored({ id, salt, entries: encodeEntries(entries) });
    await repository.flush();

    const reopened = await Repository.open(storage, secret, { codec: zstdCodec() });
    expect(await reopened.loadBlob('data', blobId)).toEqual(plaintext);
    expect((await checkRepository(reopened, { readData: true })).problems).toEqual([]);
    // Under version 1 every byte is in the name: a flipped bit in the frame is a damaged pack.
    const flipped = pack.slice();
    flipped[PACK_PREAMBLE_BYTES + 20] = (flipped[PACK_PREAMBLE_BYTES + 20] ?? 0) ^ 0x80;
    storage.tamper(packName(id), flipped);
    const messages = (await checkRepository(reopened, { readData: true })).problems.filter((p) => p.object === packName(id)).map((p) => p.message);
    expect(messages).toContain('pack content does not match its name (damaged)');
  });

  test('a pack of an unknown version, or too short to have a header, is a problem named by check', async () => {
    const storage = new MemoryStorage();
    const repository = await Repository.init(storage, first, options);
    await backup(repository, [await sourceWith({ 'a.bin': randomBytes(3000) })]);
    const [name] = await packNames(storage);
    if (!name) throw new Error('no pack');
    const bytes = await storage.get(name);
    const version3 = bytes.slice();
    version3[4] = 3;
    storage.tamper(name, version3);
    expect((await checkRepository(repository, { readData: true })).problems).toContainEqual(expect.objectContaining({ object: name, message: expect.stringContaining('version 3') as unknown }));
    storage.tamper(name, bytes.slice(0, 40));
    expect((await checkRepository(repository, { readData: true })).problems).toContainEqual(expect.objectContaining({ object: name, message: expect.stringContaining('truncated') as unknown }));
  });
});
