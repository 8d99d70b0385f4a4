/**
 * Reusable buffers in a few fixed sizes. A backup reads and moves a gigabyte through buffers of
 * every size a media file can have; allocated fresh each time, they left malloc's arenas so
 * fragmented that the process held three times the bytes actually in flight. Buffers of four
 * sizes, kept and reused, keep the resident memory at what the budgets allow.
 */
const CLASSES = [64 * 1024, 256 * 1024, 1024 * 1024, 4 * 1024 * 1024];

export class BufferPool {
  readonly #free = new Map<number, ArrayBuffer[]>(CLASSES.map((size) => [size, []]));
  readonly #keepBytes: number;
  #kept = 0;

  /** Keeps at most `keepBytes` of idle buffers. */
  constructor(keepBytes: number) {
    this.#keepBytes = keepBytes;
  }

  /** The largest size a buffer can be taken in. */
  static get largest(): number {
    return CLASSES[CLASSES.length - 1] as number;
  }

  /** The size of the buffer `take(size)` returns. */
  static sizeFor(size: number): number {
    return CLASSES.find((c) => c >= size) ?? size;
  }

  /** A buffer of at least `size` bytes, not zeroed. */
  take(size: number): ArrayBuffer {
    const wanted = BufferPool.sizeFor(size);
    const reused = this.#free.get(wanted)?.pop();
    if (reused) {
      this.#kept -= wanted;
      return reused;
    }
    // allocUnsafeSlow: a buffer of its own (never a slice of Node's shared pool), so it can be moved to a worker.
    return Buffer.allocUnsafeSlow(wanted).buffer;
  }

  /** Gives a buffer back for reuse; one of another size, or beyond what is kept, is left to the GC. */
  give(buffer: ArrayBuffer): void {
    const free = this.#free.get(buffer.byteLength);
    if (!free || buffer.detached || this.#kept + buffer.byteLength > this.#keepBytes) return;
    free.push(buffer);
    this.#kept += buffer.byteLength;
  }
}
