/**
 * Reusable fixed-size buffers for small object reads. A GET of a 1 MiB object
 * used to allocate a fresh 1 MiB buffer each time; at a few hundred a second
 * that churn forced a full (mark-compact) garbage collection every few dozen
 * requests, pausing every transfer in flight. A buffer is given back only once
 * nothing refers to it any more (the reply's `finish`), so no reply can ever
 * carry bytes read for another.
 */
export class BufferPool {
  readonly size: number;
  readonly #maxFree: number;
  readonly #free: Buffer[] = [];

  constructor(size: number, maxFree: number) {
    this.size = size;
    this.#maxFree = maxFree;
  }

  take(): Buffer {
    return this.#free.pop() ?? Buffer.allocUnsafeSlow(this.size);
  }

  give(buffer: Buffer): void {
    // Beyond the bound (a burst of concurrency), spare buffers go to the garbage collector.
    if (buffer.length === this.size && this.#free.length < this.#maxFree) this.#free.push(buffer);
  }
}
