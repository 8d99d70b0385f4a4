import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobStore } from './blob-store.ts';
import { countBytes } from './count-bytes.ts';

/**
 * Blobs as files under one directory, written the durable way: a temp file in
 * the same directory, fsync, rename into place, fsync the directory. A crash
 * leaves either the whole blob or a temp file (swept at start-up), never a
 * torn blob under its key. Keys are hex ids; the first two characters fan the
 * files out over 256 directories.
 */
export class LocalBlobStore implements BlobStore {
  readonly location: string;
  readonly #root: string;

  constructor(root: string) {
    this.#root = root;
    this.location = `local:${root}`;
  }

  #path(key: string): string {
    if (!/^[0-9a-f]{32}$/.test(key)) throw new Error('blob keys are 32 hex digits');
    return join(this.#root, key.slice(0, 2), key);
  }

  async write(key: string, body: Readable, size: number): Promise<void> {
    const path = this.#path(key);
    await mkdir(dirname(path), { recursive: true });
    const temp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
    try {
      await pipeline(body, countBytes(size), createWriteStream(temp, { flags: 'wx', highWaterMark: 1024 * 1024 }));
      const handle = await open(temp, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, path);
      await syncDirectory(dirname(path));
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  read(key: string, range?: { offset: number; length: number }): Promise<Readable> {
    const path = this.#path(key);
    if (range !== undefined && range.length === 0) return Promise.resolve(Readable.from([]));
    const stream = createReadStream(path, {
      highWaterMark: 1024 * 1024,
      ...(range === undefined ? {} : { start: range.offset, end: range.offset + range.length - 1 }),
    });
    // Surface a missing file now, not mid-response.
    return new Promise((resolve, reject) => {
      stream.once('open', () => {
        resolve(stream);
      });
      stream.once('error', reject);
    });
  }

  async remove(key: string): Promise<void> {
    await rm(this.#path(key), { force: true });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

async function syncDirectory(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
