/**
 * The write side of a backup on the main thread: new blobs, lying in the shared ring, go to the
 * pack workers; their packs come back segment by segment and are written straight to storage
 * (staged where the storage can, so no pack is ever held whole in memory); a finished pack is
 * committed under its name and handed to the repository's index.
 *
 * Durability order: a pack is committed (fsync, link, directory fsync) before the repository
 * lists it in an index file, and the snapshot waits for flush(). Several commits run at once:
 * on the disks measured, eight concurrent fsyncs of 16 MiB finish four times sooner than one
 * after another. Memory is bounded by the ring and the workers' segment slots.
 */
import { LABELS } from '@coffer/core';
import { MAX_PACK_ENTRIES, packName } from '../repo/pack.ts';
import type { StagedObject } from '../repo/pack-upload.ts';
import type { Repository } from '../repo/repository.ts';
import { Limiter } from './limiter.ts';
import { PackWorkers } from './pack-workers.ts';
import type { SharedRing } from './shared-ring.ts';

export interface PipelineOptions {
  readonly commits?: number;
  readonly workers?: number;
}

interface Upload {
  readonly staged: Promise<StagedObject>;
  /** The pack's segment writes, in flight together. */
  readonly writes: Promise<void>[];
}

export class PackPipeline {
  readonly #repository: Repository;
  readonly #workers: PackWorkers;
  readonly #commits: Limiter;
  readonly #uploads = new Map<string, Upload>();
  readonly #work = new Set<Promise<void>>();
  #error: Error | undefined;

  constructor(repository: Repository, ring: SharedRing, options: PipelineOptions = {}) {
    this.#repository = repository;
    this.#commits = new Limiter(options.commits ?? 8);
    this.#workers = new PackWorkers(
      {
        subkey: repository.keys.blobEncryption,
        idKey: repository.keys.blobId,
        labels: { pack: LABELS.packKey, blobAad: LABELS.blobAad, headerAad: LABELS.packHeaderAad, paddingAad: LABELS.packPaddingAad },
        level: repository.compressionLevel ?? null,
        packBytes: repository.packBytes,
        maxEntries: MAX_PACK_ENTRIES - 1,
        ring: ring.buffer,
      },
      options.workers,
    );
    this.#workers.events = {
      segment: (worker, pack, slot, bytes) => {
        this.#segment(worker, pack, slot, bytes);
      },
      packed: (worker, pack, id, salt, entries) => {
        this.#packed(worker, pack, id, salt, entries);
      },
    };
  }

  get workers(): PackWorkers {
    return this.#workers;
  }

  /** The ids of blobs lying in the ring ((offset, length) pairs in `spans`), 32 bytes each. */
  hash(spans: Uint32Array): Promise<Uint8Array> {
    this.#throwIfFailed();
    return this.#workers.hash(spans);
  }

  /**
   * Seals blobs lying in the ring — (offset, length) pairs in `spans`, their ids in `ids` — which
   * the caller claimed from the repository. `done` runs once the worker has read them, so their
   * ring regions may be reused.
   */
  store(type: 'data' | 'tree', spans: Uint32Array, ids: Uint8Array, done: () => void): void {
    this.#throwIfFailed();
    this.#track(this.#workers.store(type === 'data' ? 0 : 1, spans, ids).finally(done));
  }

  /** Finishes the open packs and waits until every pack is committed and handed to the repository. */
  async flush(): Promise<void> {
    this.#throwIfFailed();
    await Promise.all(this.#work);
    this.#throwIfFailed();
    await this.#workers.flush();
    while (this.#work.size > 0) await Promise.all(this.#work);
    this.#throwIfFailed();
  }

  async close(): Promise<void> {
    await this.#workers.close();
    for (const upload of this.#uploads.values()) void upload.staged.then((s) => s.abort()).catch(() => undefined);
  }

  #segment(worker: number, pack: number, slot: number, bytes: Uint8Array): void {
    const key = `${String(worker)}:${String(pack)}`;
    let upload = this.#uploads.get(key);
    if (!upload) {
      const staged = this.#repository.openPackUpload();
      void staged.catch(() => undefined);
      upload = { staged, writes: [] };
      this.#uploads.set(key, upload);
    }
    // Issued in order (callbacks on one promise run in the order they were added), so each
    // segment lands after the one before; the writes themselves run at once.
    // Slots are 4 KiB-aligned in page-aligned shared memory and 1 MiB long: direct I/O may round the last piece up.
    const write = upload.staged.then((staged) => (bytes.length > 0 ? staged.write(bytes, true) : undefined)).finally(() => {
      this.#workers.freeSegment(worker, slot);
    });
    upload.writes.push(write);
    this.#track(write);
  }

  #packed(worker: number, pack: number, id: string, salt: Uint8Array, entries: Uint8Array): void {
    const key = `${String(worker)}:${String(pack)}`;
    const upload = this.#uploads.get(key);
    if (!upload) {
      this.#fail(new Error(`pack ${key} finished without bytes`));
      return;
    }
    this.#uploads.delete(key);
    this.#track(
      (async () => {
        await Promise.all(upload.writes);
        const release = await this.#commits.acquire();
        try {
          await (await upload.staged).commit(packName(id));
        } finally {
          release();
        }
        this.#repository.packStored({ id, salt, entries });
      })(),
    );
  }

  #track(work: Promise<void>): void {
    const task = work.catch((error: unknown) => {
      this.#fail(error instanceof Error ? error : new Error(String(error)));
    });
    this.#work.add(task);
    void task.finally(() => this.#work.delete(task));
  }

  #fail(error: Error): void {
    this.#error ??= error;
  }

  #throwIfFailed(): void {
    if (this.#error) throw this.#error;
  }
}
