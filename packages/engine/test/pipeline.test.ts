/**
 * The parts of the fast backup and restore paths one by one: the shared ring, the reusable zstd
 * contexts, packed content lists, the compact index, staged and direct-read local storage, the
 * one-chunk shortcut for small files, and a round trip with several pack workers.
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import * as fsPromises from 'node:fs/promises';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import zlib from 'node:zlib';
import { Worker } from 'node:worker_threads';
import { describe, expect, test, vi } from 'vitest';
import { BlobIndex } from '../src/repo/blob-index.ts';
import { expandContentIds, expandContentList, saveContent, saveContentIds } from '../src/repo/content-list.ts';
import { encodeEntries } from '../src/repo/entries.ts';
import { Repository } from '../src/repo/repository.ts';
import { backup } from '../src/node/backup.ts';
import { openChunkStream } from '../src/node/chunk-stream.ts';
import { IdMac } from '../src/node/id-mac.ts';
import { PackPipeline } from '../src/node/pack-pipeline.ts';
import type { LocalFs } from '../src/node/local-fs.ts';
import { LocalStorage } from '../src/node/local-storage.ts';
import { restoreSnapshot } from '../src/node/restore.ts';
import { SharedRing, sharedMemory } from '../src/node/shared-ring.ts';
import { ZstdDecoder } from '../src/node/zstd-decoder.ts';
import { ZstdEncoder } from '../src/node/zstd-encoder.ts';
import { zstdCodec } from '../src/node/zstd-codec.ts';
import { MemoryStorage } from '../src/storage/memory.ts';
import { first, params, tempDirPerTest } from './fixtures.ts';

const dir = tempDirPerTest('coffer-pipeline-');

describe('shared ring', () => {
  test('hands out aligned regions, wraps around, and serves a waiting request once room is freed', async () => {
    const ring = new SharedRing(64 * 1024);
    const a = await ring.alloc(20_000);
    const b = await ring.alloc(20_000);
    const c = await ring.alloc(10_000);
    expect([a, b, c]).toEqual([0, 20_480, 40_960]);
    let waited: number | undefined;
    const d = ring.alloc(24_000).then((offset) => (waited = offset));
    await Promise.resolve();
    expect(waited).toBeUndefined();
    ring.free(b); // not the oldest: nothing moves yet
    await Promise.resolve();
    expect(waited).toBeUndefined();
    ring.free(a); // the oldest two are gone: the request wraps to the start
    expect(await d).toBe(0);
    ring.free(c);
    ring.free(0);
    expect(await ring.alloc(64 * 1024)).toBe(0);
    await expect(ring.alloc(65 * 1024)).rejects.toThrow(/does not fit/);
  });

  test('tryAlloc takes free room at once, and none while full or while a request waits', async () => {
    const ring = new SharedRing(64 * 1024);
    expect(ring.tryAlloc(40_000)).toBe(0);
    expect(ring.tryAlloc(30_000)).toBe(-1); // 24 KiB left
    const waiting = ring.alloc(30_000);
    expect(ring.tryAlloc(4096)).toBe(-1); // would jump the queue
    ring.free(0);
    expect(await waiting).toBe(0);
    expect(ring.tryAlloc(4096)).toBe(32_768);
  });

  test('shared memory is page-aligned and visible through every view', () => {
    const memory = sharedMemory(100_000);
    expect(memory.byteLength % 65_536).toBe(0);
    new Uint8Array(memory)[5] = 7;
    expect(new Uint8Array(memory, 4, 2)[1]).toBe(7);
  });
});

describe('reusable zstd contexts', () => {
  test('frames of many sizes round-trip, and interoperate with zlib both ways', () => {
    const encoder = new ZstdEncoder(3, 16);
    const decoder = new ZstdDecoder();
    for (const size of [0, 1, 100, 4096, 65_536, 300_000]) {
      const text = new TextEncoder().encode('a chat message, again and again. '.repeat(Math.ceil(size / 33) + 1)).subarray(0, size);
      const frame = encoder.encode(text).slice();
      const out = new Uint8Array(size);
      decoder.decodeInto(frame, out);
      expect(Buffer.compare(out, text)).toBe(0);
      expect(Buffer.compare(zlib.zstdDecompressSync(frame), text)).toBe(0);
      const theirs = zlib.zstdCompressSync(text);
      const again = new Uint8Array(size);
      decoder.decodeInto(theirs, again);
      expect(Buffer.compare(again, text)).toBe(0);
    }
  });

  test('a frame of another length, or not a frame, is refused and the next one still decodes', () => {
    const encoder = new ZstdEncoder(3, 16);
    const decoder = new ZstdDecoder();
    const frame = encoder.encode(new Uint8Array(5000).fill(9)).slice();
    expect(() => {
      decoder.decodeInto(frame, new Uint8Array(4999));
    }).toThrow(/4999/);
    expect(() => {
      decoder.decodeInto(frame, new Uint8Array(5001));
    }).toThrow(/5001/);
    expect(() => {
      decoder.decodeInto(randomBytes(200), new Uint8Array(200));
    }).toThrow();
    const out = new Uint8Array(5000);
    decoder.decodeInto(frame, out);
    expect(out.every((b) => b === 9)).toBe(true);
  });
});

describe('packed content lists', () => {
  const sink = (): { saved: Map<string, Uint8Array>; saveBlob(type: 'data' | 'tree', plaintext: Uint8Array): Promise<{ id: Uint8Array }>; loadBlob(type: 'data' | 'tree', id: Uint8Array): Promise<Uint8Array> } => {
    const saved = new Map<string, Uint8Array>();
    return {
      saved,
      // A content-addressed double: the id is a hash of the bytes, as in a repository.
      saveBlob(_type, plaintext) {
        const id = new Uint8Array(createHash('sha256').update(plaintext).digest());
        saved.set(Buffer.from(id).toString('hex'), plaintext.slice());
        return Promise.resolve({ id });
      },
      loadBlob(_type, id) {
        const bytes = saved.get(Buffer.from(id).toString('hex'));
        return bytes ? Promise.resolve(bytes) : Promise.reject(new Error('missing'));
      },
    };
  };

  test('saveContentIds writes the same lists as saveContent, and expandContentIds reads them back', async () => {
    for (const count of [1, 32, 33, 1000, 1025]) {
      const ids = randomBytes(32 * count);
      const hex = Array.from({ length: count }, (_, i) => ids.subarray(32 * i, 32 * (i + 1)).toString('hex'));
      const a = sink();
      const b = sink();
      const packed = await saveContentIds(a, new Uint8Array(ids));
      expect(packed).toEqual(await saveContent(b, hex));
      expect([...a.saved.keys()].sort()).toEqual([...b.saved.keys()].sort());
      if ('contentList' in packed) {
        expect(Buffer.from(await expandContentIds(a, packed.contentList)).equals(ids)).toBe(true);
        expect(await expandContentList(a, packed.contentList)).toEqual(hex);
      }
    }
  });
});

describe('compact blob index', () => {
  test('claims, locations, first location wins, and entries come back as written', () => {
    const index = new BlobIndex();
    const id = (n: number): Uint8Array => new Uint8Array(32).fill(n);
    expect(index.claim('data', id(1))).toBe(true);
    expect(index.claim('data', id(1))).toBe(false);
    expect(index.known('data', id(1))).toBe(true);
    expect(index.has('data', id(1))).toBe(false);
    expect(index.lookup('data', id(1))).toBeUndefined();
    const entries = [
      { type: 'data' as const, id: id(1), offset: 37, length: 100, rawLength: 71 },
      { type: 'tree' as const, id: id(1), offset: 137, length: 50, rawLength: 21 },
    ];
    index.addRawPack({ id: 'a'.repeat(64), salt: new Uint8Array(32), entries: encodeEntries(entries) });
    index.addRawPack({ id: 'b'.repeat(64), salt: new Uint8Array(32), entries: encodeEntries([{ ...entries[0], offset: 999 } as (typeof entries)[number]]) });
    expect(index.claimed).toBe(0);
    expect(index.has('data', id(1)) && index.has('tree', id(1))).toBe(true);
    expect(index.lookup('data', id(1))).toMatchObject({ packId: 'a'.repeat(64), entry: { offset: 37, length: 100, rawLength: 71 } });
    expect(index.blobCount).toBe(2);
    expect(index.pack('b'.repeat(64))?.entries[0]?.offset).toBe(999);
    expect([...index.packs].map((p) => p.entries.length)).toEqual([2, 1]);
    expect(index.at(index.row('tree', id(1)))).toMatchObject({ offset: 137, length: 50, rawLength: 21 });
  });
});

describe('local storage: staged packs and direct reads', () => {
  test('aligned writes from shared memory, at once, then a short last piece: the object is exactly the bytes', async () => {
    const storage = new LocalStorage(join(dir.path, 'store'));
    const memory = new Uint8Array(sharedMemory(3 * 1024 * 1024));
    memory.set(randomBytes(memory.length));
    const staged = await storage.stage('data');
    await Promise.all([staged.write(memory.subarray(0, 1 << 20), true), staged.write(memory.subarray(1 << 20, 2 << 20), true), staged.write(memory.subarray(2 << 20, (2 << 20) + 12_345), true)]);
    await staged.commit('data/ab/object');
    const bytes = await storage.get('data/ab/object');
    expect(Buffer.compare(bytes, memory.subarray(0, (2 << 20) + 12_345))).toBe(0);
    // No temporary file is left behind.
    expect((await readdir(join(dir.path, 'store', 'data'))).filter((n) => n.startsWith('.'))).toEqual([]);
    // readInto: aligned (direct where the filesystem allows) and not.
    const target = new Uint8Array(sharedMemory(1 << 20));
    expect(await storage.readInto('data/ab/object', 1 << 20, target, true)).toBe(1 << 20);
    expect(Buffer.compare(target, memory.subarray(1 << 20, 2 << 20))).toBe(0);
    const tail = new Uint8Array(100);
    expect(await storage.readInto('data/ab/object', (2 << 20) + 12_300, tail, false)).toBe(45);
    await expect(storage.readInto('data/none', 0, tail, false)).rejects.toMatchObject({ code: 'E_STORAGE_NOT_FOUND' });
  });

  test('a filesystem without direct I/O, which creates the file before refusing O_DIRECT (as Linux does on ramfs), still takes staged packs', async () => {
    let refused = 0;
    const noDirectIo: LocalFs = {
      ...fsPromises,
      open: (async (path: string, flags?: string | number, mode?: number) => {
        if (typeof flags === 'number' && (flags & constants.O_DIRECT) !== 0) {
          // The kernel's order: create (O_CREAT), then check the flag against the filesystem.
          await (await fsPromises.open(path, flags & ~constants.O_DIRECT, mode)).close();
          refused++;
          throw Object.assign(new Error('EINVAL: simulated'), { code: 'EINVAL' });
        }
        return fsPromises.open(path, flags, mode);
      }) as LocalFs['open'],
    };
    const storage = new LocalStorage(join(dir.path, 'store'), { fs: noDirectIo });
    const memory = new Uint8Array(sharedMemory(2 * 1024 * 1024));
    memory.set(randomBytes(memory.length));
    const staged = await storage.stage('data');
    await Promise.all([staged.write(memory.subarray(0, 1 << 20), true), staged.write(memory.subarray(1 << 20, (1 << 20) + 777), true)]);
    await staged.commit('data/ef/object');
    expect(Buffer.compare(await storage.get('data/ef/object'), memory.subarray(0, (1 << 20) + 777))).toBe(0);
    const target = new Uint8Array(sharedMemory(1 << 20));
    expect(await storage.readInto('data/ef/object', 0, target, true)).toBe(1 << 20);
    expect(Buffer.compare(target, memory.subarray(0, 1 << 20))).toBe(0);
    expect(refused).toBe(2);
    expect((await readdir(join(dir.path, 'store', 'data'))).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  test('a filesystem that opens with O_DIRECT but refuses the writes (another alignment) still takes staged packs', async () => {
    let refused = 0;
    const strictAlignment: LocalFs = {
      ...fsPromises,
      open: (async (path: string, flags?: string | number, mode?: number) => {
        const handle = await fsPromises.open(path, flags, mode);
        if (typeof flags !== 'number' || (flags & constants.O_DIRECT) === 0) return handle;
        return new Proxy(handle, {
          get(real, property) {
            if (property === 'write') {
              return () => {
                refused++;
                return Promise.reject(Object.assign(new Error('EINVAL: simulated'), { code: 'EINVAL' }));
              };
            }
            const value: unknown = Reflect.get(real, property);
            return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(real) : value;
          },
        });
      }) as LocalFs['open'],
    };
    const storage = new LocalStorage(join(dir.path, 'store'), { fs: strictAlignment });
    const memory = new Uint8Array(sharedMemory(3 * 1024 * 1024));
    memory.set(randomBytes(memory.length));
    const staged = await storage.stage('data');
    // Three at once, as a pack's segments go: each is refused, and all land through one buffered handle.
    await Promise.all([staged.write(memory.subarray(0, 1 << 20), true), staged.write(memory.subarray(1 << 20, 2 << 20), true), staged.write(memory.subarray(2 << 20, (2 << 20) + 999), true)]);
    await staged.write(Uint8Array.of(7, 7, 7));
    await staged.commit('data/aa/object');
    const expected = Buffer.concat([memory.subarray(0, (2 << 20) + 999), Uint8Array.of(7, 7, 7)]);
    expect(Buffer.compare(await storage.get('data/aa/object'), expected)).toBe(0);
    expect(refused).toBe(3);
    expect((await readdir(join(dir.path, 'store', 'data'))).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  test('a staged object is create-only, and an aborted one leaves nothing', async () => {
    const storage = new LocalStorage(join(dir.path, 'store'));
    await storage.put('data/cd/taken', Uint8Array.of(1));
    const staged = await storage.stage('data');
    await staged.write(Uint8Array.of(1, 2, 3));
    await expect(staged.commit('data/cd/taken')).rejects.toMatchObject({ code: 'E_STORAGE_EXISTS' });
    const aborted = await storage.stage('data');
    await aborted.write(Uint8Array.of(4));
    await aborted.abort();
    expect((await readdir(join(dir.path, 'store', 'data'))).filter((n) => n.startsWith('.'))).toEqual([]);
  });
});

describe('backup and restore paths', () => {
  test('a file shorter than the smallest chunk is one chunk, as the chunker cuts it', async () => {
    const repository = await Repository.init(new MemoryStorage(), first, { codec: zstdCodec(), params });
    for (const size of [1, 100, 5000, 16 * 1024 - 1, 16 * 1024]) {
      const bytes = randomBytes(size);
      const stream = await openChunkStream(repository);
      const chunks = [...stream.push(bytes), ...stream.finish()];
      expect(chunks.length).toBe(1);
      expect(Buffer.compare(chunks[0] ?? new Uint8Array(0), bytes)).toBe(0);
    }
  });

  test('a next day that changes one page in eight of a database larger than the ring restores byte for byte', async () => {
    // New pages are copied out of their piece (file-chunks.ts), which is then reused for later
    // reads while the worker still seals: sealing from the piece instead would seal other bytes.
    const PAGE = 4096;
    const pages = 12_288; // 48 MiB: three times the ring
    const day1 = new Uint8Array(randomBytes(pages * PAGE));
    day1.set(new TextEncoder().encode('SQLite format 3\0'));
    day1.set([0x10, 0x00, 1, 1, 0, 64, 32, 32], 16);
    const day2 = day1.slice();
    for (let page = 1; page < pages; page += 8) day2.set(randomBytes(PAGE), page * PAGE);
    const source = join(dir.path, 'phone');
    await mkdir(source, { recursive: true });
    await writeFile(join(source, 'msgstore.db'), day1);
    const repository = await Repository.init(new LocalStorage(join(dir.path, 'repo')), first, { codec: zstdCodec(), params });
    await backup(repository, [source], { workers: 1 });
    await writeFile(join(source, 'msgstore.db'), day2);
    const { snapshot } = await backup(repository, [source], { workers: 1 });
    const report = await restoreSnapshot(repository, snapshot, join(dir.path, 'target'));
    expect(report.failures).toEqual([]);
    expect(Buffer.compare(await readFile(join(dir.path, 'target', 'phone', 'msgstore.db')), day2)).toBe(0);
  });

  test.each([1, 2])('round trip with %i pack worker(s), small packs, forwards and a file spanning many packs', async (workers) => {
    const source = join(dir.path, 'source');
    await mkdir(join(source, 'media'), { recursive: true });
    const big = randomBytes(3_000_000);
    await writeFile(join(source, 'big.bin'), big);
    await writeFile(join(source, 'media', 'photo.jpg'), big.subarray(0, 9000));
    await writeFile(join(source, 'media', 'forward.jpg'), big.subarray(0, 9000));
    await writeFile(join(source, 'notes.txt'), 'text '.repeat(40_000));
    await writeFile(join(source, 'empty'), '');
    const storage = new LocalStorage(join(dir.path, 'repo'));
    const repository = await Repository.init(storage, first, { codec: zstdCodec(), packSize: 256 * 1024, params });
    const { snapshot } = await backup(repository, [source], { workers });
    const report = await restoreSnapshot(repository, snapshot, join(dir.path, 'target'), { workers });
    expect(report.failures).toEqual([]);
    for (const name of ['big.bin', 'media/photo.jpg', 'media/forward.jpg', 'notes.txt', 'empty']) {
      expect(Buffer.compare(await readFile(join(dir.path, 'target', 'source', name)), await readFile(join(source, name))), name).toBe(0);
    }
  });
});

describe('store requests to the pack workers', () => {
  test('those made in one task go as one message, and every blob comes back', async () => {
    const repository = await Repository.init(new MemoryStorage(), first, { codec: zstdCodec(), params });
    const ring = new SharedRing(4 * 1024 * 1024);
    const pipeline = new PackPipeline(repository, ring, { workers: 1 });
    const idMac = new IdMac(repository.keys.blobId);
    const sent = vi.spyOn(Worker.prototype, 'postMessage');
    try {
      const blobs: { id: Uint8Array; bytes: Uint8Array }[] = [];
      let freed = 0;
      // 300 small files' blobs, as a batch from the small-file reader hands them on: all in one task.
      for (let i = 0; i < 300; i++) {
        const bytes = new Uint8Array(randomBytes(500 + i));
        const at = await ring.alloc(bytes.length);
        ring.view(at, bytes.length).set(bytes);
        const spans = Uint32Array.of(at, bytes.length);
        const id = idMac.ofSpans(ring.bytes, spans);
        expect(repository.claimBlob('data', id, bytes.length)).toBe(true);
        blobs.push({ id, bytes });
        pipeline.store('data', spans, id, () => {
          ring.free(at);
          freed++;
        });
      }
      await pipeline.flush();
      await repository.flush();
      const stores = sent.mock.calls.filter(([message]) => (message as { op?: string }).op === 'store');
      // At most 256 requests or 1 MiB per message: two messages, not 300.
      expect(stores.length).toBe(2);
      expect(freed).toBe(300);
      for (const { id, bytes } of blobs) expect(Buffer.compare(await repository.loadBlob('data', id), bytes)).toBe(0);
    } finally {
      sent.mockRestore();
      await pipeline.close();
    }
  });
});
