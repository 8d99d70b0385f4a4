/**
 * The pack workers (pack-worker.ts) seen from the main thread: requests go to the
 * least-loaded worker and come back as promises; pack segments and finished packs go to the
 * handler the owner sets. Each worker gets its own shared memory for pack segments, which the
 * main thread frees slot by slot once written. Workers are unref'd while idle, so they never
 * keep a process alive.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { joinBytes } from '@coffer/core';
import type { FromPackWorker, OpenFailure, PackWorkerInit, ToPackWorker } from './pack-protocol.ts';
import { sharedMemory } from './shared-ring.ts';

export const SEGMENT_BYTES = 1024 * 1024;

/**
 * One worker per core but one: the main thread is busy too (reading, chunking, and on a
 * two-core machine the MACs), and each worker costs about 15 MiB. Measured on two cores: one
 * worker as fast as two, forty MiB smaller.
 */
export function defaultWorkers(): number {
  return Math.max(1, Math.min(availableParallelism() - 1, 4));
}

/**
 * A restore's main thread only reads ranges and writes files (a profile of a 1.2 GB restore on
 * two cores: idle two thirds of the time, while its one worker never was), so it gets a worker
 * per core. Measured on two busy cores: 3.4–4.7 s instead of 4.6–4.9 s, 20 MiB more. (A backup's
 * main thread is busy itself: there, a second worker made it slower.)
 */
export function restoreWorkers(): number {
  return Math.max(1, Math.min(availableParallelism(), 4));
}

/** Segment slots per worker: the writes of a pack's segments run at once, up to this many. */
const SEGMENTS_PER_WORKER = 8;

export interface PackEvents {
  /** Bytes of a pack: `bytes` is a view of shared memory, valid until freeSegment(worker, slot). */
  segment(worker: number, pack: number, slot: number, bytes: Uint8Array): void;
  packed(worker: number, pack: number, id: string, salt: Uint8Array, entries: Uint8Array): void;
}

export type WorkerSettings = Omit<PackWorkerInit, 'op' | 'segments' | 'segmentBytes' | 'segmentCount' | 'control'>;

interface Pending {
  readonly worker: number;
  readonly cost: number;
  resolve(message: FromPackWorker): void;
  reject(error: Error): void;
}

interface Slots {
  readonly memory: SharedArrayBuffer;
  readonly control: Int32Array;
}

type WithoutSeq<T> = T extends unknown ? Omit<T, 'seq'> : never;

/** Store requests gathered into one message (see store()). */
interface StoreBatch {
  readonly type: number;
  /** (offset, length) pairs of every request, in order. */
  readonly spans: number[];
  readonly ids: Uint8Array[];
  cost: number;
  readonly waiters: { resolve(): void; reject(error: unknown): void }[];
}

/** A store batch goes once it holds this many bytes or requests, else at the end of the task that began it. */
const STORE_BATCH_BYTES = 1024 * 1024;
const STORE_BATCH_REQUESTS = 256;

export class PackWorkers {
  readonly #workers: Worker[] = [];
  readonly #slots: Slots[] = [];
  /** Bytes of requests outstanding per worker: the next request goes to the least loaded. */
  readonly #load: number[] = [];
  readonly #pending = new Map<number, Pending>();
  #events: PackEvents | undefined;
  #stores: StoreBatch | undefined;
  #seq = 0;
  #broken: Error | undefined;

  constructor(settings: WorkerSettings, count = defaultWorkers()) {
    for (let i = 0; i < Math.max(1, count); i++) {
      const slots: Slots = { memory: sharedMemory(SEGMENT_BYTES * SEGMENTS_PER_WORKER), control: new Int32Array(new SharedArrayBuffer(4 * (1 + SEGMENTS_PER_WORKER))) };
      const worker = new Worker(new URL('./pack-worker-boot.js', import.meta.url));
      worker.unref();
      worker.on('message', (message: FromPackWorker) => {
        this.#receive(i, message);
      });
      worker.on('error', (error: unknown) => {
        this.#fail(error instanceof Error ? error : new Error(String(error)));
      });
      const init: PackWorkerInit = { op: 'init', ...settings, segments: slots.memory, segmentBytes: SEGMENT_BYTES, segmentCount: SEGMENTS_PER_WORKER, control: slots.control.buffer as SharedArrayBuffer };
      worker.postMessage(init satisfies ToPackWorker);
      this.#workers.push(worker);
      this.#slots.push(slots);
      this.#load.push(0);
    }
  }

  get size(): number {
    return this.#workers.length;
  }

  /** Where segments and finished packs go; set before the first store request. */
  set events(events: PackEvents) {
    this.#events = events;
  }

  /** The ids of blobs lying in the ring, 32 bytes each. */
  async hash(spans: Uint32Array): Promise<Uint8Array> {
    let cost = 0;
    for (let i = 1; i < spans.length; i += 2) cost += spans[i] ?? 0;
    const reply = await this.#send(this.#leastLoaded(), { op: 'hash', spans }, cost);
    if (reply.op !== 'hashed') throw new Error(`pack worker answered ${reply.op} to hash`);
    return reply.ids;
  }

  /**
   * Seals blobs lying in the ring into a worker's pack; resolves once the worker is done reading
   * them. Requests made in one task go as one message (up to a batch's size): a file of a few KB
   * is one request, and a message each way per file cost ≈25 µs of the main thread's time —
   * 1.2 s of a backup of 50,000 such files.
   */
  store(type: number, spans: Uint32Array, ids: Uint8Array): Promise<void> {
    if (this.#stores?.type !== type) this.#sendStores();
    let batch = this.#stores;
    if (!batch) {
      batch = { type, spans: [], ids: [], cost: 0, waiters: [] };
      this.#stores = batch;
      const started = batch;
      setImmediate(() => {
        if (this.#stores === started) this.#sendStores();
      });
    }
    for (let i = 0; i < spans.length; i += 2) {
      batch.spans.push(spans[i] ?? 0, spans[i + 1] ?? 0);
      batch.cost += spans[i + 1] ?? 0;
    }
    batch.ids.push(ids);
    const stored = new Promise<void>((resolve, reject) => {
      batch.waiters.push({ resolve, reject });
    });
    if (batch.cost >= STORE_BATCH_BYTES || batch.ids.length >= STORE_BATCH_REQUESTS) this.#sendStores();
    return stored;
  }

  /** Finishes every worker's open pack; resolves after their last segments and 'packed' arrived. */
  async flush(): Promise<void> {
    this.#sendStores();
    await Promise.all(this.#workers.map((_, i) => this.#send(i, { op: 'flush' }, 0)));
  }

  /** Opens and verifies blobs lying in the ring (see OpenRequest); resolves with those that failed. */
  async open(salt: Uint8Array, blobs: Uint8Array, cost: number): Promise<readonly OpenFailure[]> {
    const reply = await this.#send(this.#leastLoaded(), { op: 'open', salt, blobs }, cost);
    if (reply.op !== 'opened') throw new Error(`pack worker answered ${reply.op} to open`);
    return reply.failures;
  }

  /** A segment slot is written: the worker may fill it again. */
  freeSegment(worker: number, slot: number): void {
    const slots = this.#slots[worker];
    if (!slots) return;
    Atomics.store(slots.control, 1 + slot, 0);
    Atomics.add(slots.control, 0, 1);
    Atomics.notify(slots.control, 0);
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map((worker) => worker.terminate()));
  }

  #sendStores(): void {
    const batch = this.#stores;
    if (!batch) return;
    this.#stores = undefined;
    const spans = Uint32Array.from(batch.spans);
    const ids = batch.ids.length === 1 ? (batch.ids[0] as Uint8Array) : joinBytes(batch.ids);
    this.#send(this.#leastLoaded(), { op: 'store', type: batch.type, spans, ids }, batch.cost).then(
      () => {
        for (const waiter of batch.waiters) waiter.resolve();
      },
      (error: unknown) => {
        for (const waiter of batch.waiters) waiter.reject(error);
      },
    );
  }

  #leastLoaded(): number {
    let best = 0;
    for (let i = 1; i < this.#load.length; i++) if ((this.#load[i] ?? 0) < (this.#load[best] ?? 0)) best = i;
    return best;
  }

  #send(worker: number, request: WithoutSeq<ToPackWorker>, cost: number): Promise<FromPackWorker> {
    if (this.#broken) return Promise.reject(this.#broken);
    const seq = this.#seq++;
    return new Promise((resolve, reject) => {
      this.#pending.set(seq, { worker, cost, resolve, reject });
      this.#load[worker] = (this.#load[worker] ?? 0) + cost + 1;
      this.#workers[worker]?.ref();
      this.#workers[worker]?.postMessage({ ...request, seq });
    });
  }

  #receive(worker: number, message: FromPackWorker): void {
    switch (message.op) {
      case 'segment': {
        const memory = this.#slots[worker]?.memory;
        if (memory) this.#events?.segment(worker, message.pack, message.slot, new Uint8Array(memory, message.slot * SEGMENT_BYTES, message.length));
        return;
      }
      case 'packed':
        this.#events?.packed(worker, message.pack, message.id, message.salt, message.entries);
        return;
      default:
        break;
    }
    const pending = this.#pending.get(message.seq);
    if (!pending) return;
    this.#pending.delete(message.seq);
    const load = (this.#load[pending.worker] ?? 0) - pending.cost - 1;
    this.#load[pending.worker] = load;
    if (load === 0) this.#workers[pending.worker]?.unref();
    // Blob damage comes back in 'opened'; a failed request is a bug or the system (out of memory).
    if (message.op === 'failed') pending.reject(new Error(`pack worker: ${message.message}${message.code === undefined ? '' : ` (${message.code})`}`));
    else pending.resolve(message);
  }

  #fail(error: Error): void {
    this.#broken ??= error;
    for (const [seq, pending] of this.#pending) {
      this.#pending.delete(seq);
      pending.reject(error);
    }
  }
}
