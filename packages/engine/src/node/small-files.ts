/**
 * Reads small files whole on a thread of its own (small-file-worker.js), a batch of them per
 * message, for the read-ahead (read-ahead.ts).
 *
 * Why: through Node's asynchronous API a file costs an open, a read and a close, each a
 * thread-pool request with its promise and its hand-offs between threads. For a 2 KB file that
 * is most of its cost, and it lands on the main thread, which also chunks, MACs and claims every
 * file: backing up 50,000 files of 100 B–3 KB kept it busy ≈9 s while the disk needed ≈6 s. On
 * this thread the same calls are plain blocking system calls, and the main thread only sees one
 * message per batch. Larger files keep the asynchronous path, with several reads in flight.
 */
import { Worker } from 'node:worker_threads';

/** One file to read from its start: `length` bytes at most into ring[offset…]; `expected` is its walked size. */
export interface SmallFileRead {
  readonly path: string;
  readonly offset: number;
  readonly length: number;
  readonly expected: number;
}

interface Reply {
  readonly seq: number;
  /** Bytes read per file, -1 where it failed. */
  readonly lengths: Float64Array;
  readonly errors: readonly { readonly index: number; readonly code: string | undefined; readonly message: string }[];
}

interface Pending {
  resolve(reply: Reply): void;
  reject(error: Error): void;
}

export class SmallFileReader {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #seq = 0;
  #broken: Error | undefined;

  constructor(ring: SharedArrayBuffer) {
    this.#worker = new Worker(new URL('./small-file-worker.js', import.meta.url), { workerData: { ring } });
    this.#worker.unref();
    this.#worker.on('message', (reply: Reply) => {
      const pending = this.#pending.get(reply.seq);
      this.#pending.delete(reply.seq);
      if (this.#pending.size === 0) this.#worker.unref();
      pending?.resolve(reply);
    });
    this.#worker.on('error', (error: unknown) => {
      this.#fail(error instanceof Error ? error : new Error(String(error)));
    });
    this.#worker.on('exit', () => {
      this.#fail(new Error('the small-file reader stopped'));
    });
  }

  /** Reads a batch; per file, the bytes read or the error (an Error with the system's code, as Node's own calls give). */
  async read(files: readonly SmallFileRead[]): Promise<(number | Error)[]> {
    const spans = new Float64Array(3 * files.length);
    for (const [i, file] of files.entries()) spans.set([file.offset, file.length, file.expected], 3 * i);
    const reply = await this.#send(files.map((f) => f.path), spans);
    const out: (number | Error)[] = Array.from(reply.lengths);
    for (const { index, code, message } of reply.errors) out[index] = Object.assign(new Error(message), code === undefined ? {} : { code });
    return out;
  }

  async close(): Promise<void> {
    this.#fail(new Error('the small-file reader was closed'));
    await this.#worker.terminate();
  }

  #send(paths: string[], spans: Float64Array): Promise<Reply> {
    if (this.#broken) return Promise.reject(this.#broken);
    const seq = this.#seq++;
    return new Promise((resolve, reject) => {
      this.#pending.set(seq, { resolve, reject });
      this.#worker.ref();
      this.#worker.postMessage({ seq, paths, spans });
    });
  }

  #fail(error: Error): void {
    this.#broken ??= error;
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }
}
