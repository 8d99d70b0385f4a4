import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobStore } from './blob-store.ts';
import { BufferPool } from './buffer-pool.ts';
import { countBytes, gatherBytes } from './count-bytes.ts';

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
  /** Fan-out directories known to exist: a mkdir per object cost a thread-pool round trip each time. */
  readonly #made = new Set<string>();
  /**
   * Objects up to 1 MiB — the streams' highWaterMark, so no more memory per
   * read than streaming — are read whole into pooled buffers.
   */
  readonly #pool = new BufferPool(1024 * 1024, 16);

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
    const directory = dirname(path);
    if (!this.#made.has(directory)) {
      await mkdir(directory, { recursive: true });
      this.#made.add(directory);
    }
    const temp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
    try {
      if (size <= this.#pool.size) {
        await this.#writeSmall(temp, body, size);
      } else {
        // flush: the stream fsyncs its own descriptor before closing it, so the pipeline ends with
        // the data durable (no second open of the file just to fsync it).
        await pipeline(body, countBytes(size), createWriteStream(temp, { flags: 'wx', highWaterMark: 1024 * 1024, flush: true }));
      }
      await rename(temp, path);
      await syncDirectory(directory);
    } catch (error) {
      // Someone removed the directory behind our back: make it again next time.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') this.#made.delete(directory);
      await rm(temp, { force: true });
      throw error;
    }
  }

  /**
   * A body of up to 1 MiB is gathered as it arrives, then written with one
   * writev: the stream path costs a Transform and a WriteStream per object, and
   * several thread-pool writes as the chunks trickle in.
   */
  async #writeSmall(temp: string, body: Readable, size: number): Promise<void> {
    let chunks = await gatherBytes(body, size);
    const handle = await open(temp, 'wx');
    try {
      let written = 0;
      while (written < size) {
        const { bytesWritten } = await handle.writev(chunks, written);
        written += bytesWritten;
        // A short write (rare on a regular file): carry on from where it stopped.
        if (written < size) chunks = [Buffer.concat(chunks).subarray(bytesWritten)];
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  async read(key: string, range?: { offset: number; length: number }): Promise<Readable> {
    const path = this.#path(key);
    if (range !== undefined && range.length === 0) return Readable.from([]);
    // Opened here, so a missing file surfaces now, not mid-response.
    const handle = await open(path, 'r');
    try {
      // The end is always given: a stream that must find the end by reading allocates one more
      // highWaterMark-sized buffer per object only to read 0 bytes into it.
      const { offset, length } = range ?? { offset: 0, length: (await handle.stat()).size };
      if (length === 0) {
        await handle.close();
        return Readable.from([]);
      }
      return handle.createReadStream({ start: offset, end: offset + length - 1, highWaterMark: 1024 * 1024 });
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async readSmall(key: string, range: { offset: number; length: number }): Promise<{ bytes: Buffer; release: () => void } | undefined> {
    if (range.length > this.#pool.size) return undefined;
    const path = this.#path(key);
    const buffer = this.#pool.take();
    try {
      const handle = await open(path, 'r');
      try {
        let filled = 0;
        while (filled < range.length) {
          const { bytesRead } = await handle.read(buffer, filled, range.length - filled, range.offset + filled);
          // A blob shorter than its catalogue row says: fail rather than send what the buffer held before.
          if (bytesRead === 0) throw new Error(`blob ${key} ended after ${String(filled)} of ${String(range.length)} bytes`);
          filled += bytesRead;
        }
      } finally {
        await handle.close();
      }
    } catch (error) {
      this.#pool.give(buffer);
      throw error;
    }
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      this.#pool.give(buffer);
    };
    return { bytes: buffer.subarray(0, range.length), release };
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
