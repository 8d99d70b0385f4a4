/**
 * The engine's bulk primitives on a pool of worker threads (one per core).
 * The main thread reads files, cuts chunks and writes packs; MACs, sealing and
 * opening run on the workers. Same bytes as the other implementations
 * (format.md §6), checked by test/node-crypto.test.ts.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { CofferError, type CofferErrorCode, assertBytes, fail } from '@coffer/core';
import type { BulkCrypto, Sealer } from '../repo/bulk-crypto.ts';
import { nodeBulkCrypto } from './node-crypto.ts';

export type BulkRequest =
  | { readonly id: number; readonly op: 'hmac'; readonly key: Uint8Array; readonly data: Uint8Array }
  | { readonly id: number; readonly op: 'seal' | 'open'; readonly key: Uint8Array; readonly data: Uint8Array; readonly aad: Uint8Array };

export type BulkResponse =
  | { readonly id: number; readonly result: Uint8Array; readonly error?: undefined }
  | { readonly id: number; readonly result?: undefined; readonly error: { readonly code?: CofferErrorCode; readonly message: string } };

interface Pending {
  resolve(value: Uint8Array): void;
  reject(error: Error): void;
  worker: number;
}

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

export class BulkPool {
  readonly #workers: Worker[] = [];
  readonly #load: number[] = [];
  readonly #pending = new Map<number, Pending>();
  #next = 0;

  constructor(size = availableParallelism()) {
    for (let i = 0; i < Math.max(1, size); i++) {
      const worker = new Worker(new URL('./bulk-worker.ts', import.meta.url));
      // Idle workers must not keep a finished CLI process alive.
      worker.unref();
      worker.on('message', (response: BulkResponse) => {
        this.#settle(response);
      });
      worker.on('error', (error: unknown) => {
        this.#failAll(i, error instanceof Error ? error : new Error(String(error)));
      });
      this.#workers.push(worker);
      this.#load.push(0);
    }
  }

  run(request: WithoutId<BulkRequest>): Promise<Uint8Array> {
    const id = this.#next++;
    // Least-loaded worker: chunks differ in size, so round-robin would queue behind big ones.
    let worker = 0;
    for (let i = 1; i < this.#workers.length; i++) if ((this.#load[i] ?? 0) < (this.#load[worker] ?? 0)) worker = i;
    this.#load[worker] = (this.#load[worker] ?? 0) + 1;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, worker });
      this.#workers[worker]?.ref();
      this.#workers[worker]?.postMessage({ ...request, id });
    });
  }

  #settle(response: BulkResponse): void {
    const pending = this.#pending.get(response.id);
    if (!pending) return;
    this.#pending.delete(response.id);
    const load = (this.#load[pending.worker] ?? 1) - 1;
    this.#load[pending.worker] = load;
    if (load === 0) this.#workers[pending.worker]?.unref();
    if (response.error) pending.reject(new CofferError(response.error.code ?? 'E_INVALID_ARGUMENT', response.error.message));
    else pending.resolve(response.result);
  }

  #failAll(worker: number, error: Error): void {
    for (const [id, pending] of this.#pending) {
      if (pending.worker !== worker) continue;
      this.#pending.delete(id);
      pending.reject(error);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map((worker) => worker.terminate()));
  }
}

class PooledSealer implements Sealer {
  readonly #pool: BulkPool;
  readonly #key: Uint8Array;
  readonly #limit: number;
  #sealed = 0;

  constructor(pool: BulkPool, key: Uint8Array, limit: number) {
    assertBytes(key, 'AES-256-GCM key', 32);
    this.#pool = pool;
    this.#key = key.slice();
    this.#limit = limit;
  }

  seal(plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    return new Promise((resolve) => {
      // The message budget is counted here, on the main thread, before any worker sees the request.
      if (this.#sealed >= this.#limit) fail('E_KEY_USAGE_LIMIT', `this key has sealed ${String(this.#sealed)} messages, its limit`);
      this.#sealed++;
      resolve(this.#pool.run({ op: 'seal', key: this.#key, data: plaintext, aad }));
    });
  }

  open(frame: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    return this.#pool.run({ op: 'open', key: this.#key, data: frame, aad });
  }
}

/** Bulk primitives on `pool`; SHA-256 of whole packs stays on the main thread (one call per pack). */
export function pooledBulkCrypto(pool: BulkPool): BulkCrypto {
  return {
    name: 'node:crypto worker pool',
    hmacSha256: (key, data) => pool.run({ op: 'hmac', key, data }),
    sha256: (data) => nodeBulkCrypto.sha256(data),
    sealer: (key, messageLimit) => Promise.resolve(new PooledSealer(pool, key, messageLimit)),
  };
}
