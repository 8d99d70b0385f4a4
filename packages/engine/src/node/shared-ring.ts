/**
 * A ring of memory shared by the main thread and the worker threads, handed out in contiguous
 * regions and given back in any order. File pieces are read into it and the workers read them
 * from it in place: nothing is copied or moved between threads, and nothing is allocated per
 * piece. (Moving ArrayBuffers instead cost a major GC every 64 MiB moved, on each thread, and
 * left malloc's arenas so fragmented that the process held three times the bytes in flight.)
 *
 * The memory is a shared WebAssembly.Memory: its base is page-aligned, so regions, which start
 * on 4 KiB boundaries, can be the source or target of O_DIRECT I/O.
 */
export const ALIGN = 4096;
const WASM_PAGE = 64 * 1024;

export function alignUp(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}

/** Shared, page-aligned memory of at least `bytes` bytes. */
export function sharedMemory(bytes: number): SharedArrayBuffer {
  const pages = Math.ceil(bytes / WASM_PAGE);
  return new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true }).buffer as unknown as SharedArrayBuffer;
}

interface Waiter {
  readonly size: number;
  readonly resolve: (offset: number) => void;
}

interface Region {
  readonly offset: number;
  readonly end: number;
  freed: boolean;
}

export class SharedRing {
  readonly buffer: SharedArrayBuffer;
  readonly bytes: Uint8Array;
  readonly #size: number;
  /** Live regions in the order they were handed out; the oldest is first. */
  readonly #regions: Region[] = [];
  readonly #byOffset = new Map<number, Region>();
  readonly #waiting: Waiter[] = [];
  #head = 0;

  constructor(size: number) {
    this.#size = alignUp(size);
    this.buffer = sharedMemory(this.#size);
    this.bytes = new Uint8Array(this.buffer, 0, this.#size);
  }

  get size(): number {
    return this.#size;
  }

  /** A region of `size` bytes (rounded up to 4 KiB), once that much is free. Requests are served in order. */
  alloc(size: number): Promise<number> {
    const wanted = Math.max(ALIGN, alignUp(size));
    if (wanted > this.#size) return Promise.reject(new Error(`a ${String(size)}-byte region does not fit a ${String(this.#size)}-byte ring`));
    if (this.#waiting.length === 0) {
      const offset = this.#place(wanted);
      if (offset >= 0) return Promise.resolve(offset);
    }
    return new Promise((resolve) => {
      this.#waiting.push({ size: wanted, resolve });
    });
  }

  /** A region of `size` bytes if one is free now and nobody waits for one, else -1. */
  tryAlloc(size: number): number {
    const wanted = Math.max(ALIGN, alignUp(size));
    if (wanted > this.#size || this.#waiting.length > 0) return -1;
    return this.#place(wanted);
  }

  /** Gives back the region at `offset`. */
  free(offset: number): void {
    const region = this.#byOffset.get(offset);
    if (!region) throw new Error(`no region at ${String(offset)}`);
    this.#byOffset.delete(offset);
    region.freed = true;
    while (this.#regions[0]?.freed) this.#regions.shift();
    if (this.#regions.length === 0) this.#head = 0;
    while (this.#waiting.length > 0) {
      const next = this.#waiting[0] as Waiter;
      const placed = this.#place(next.size);
      if (placed < 0) break;
      this.#waiting.shift();
      next.resolve(placed);
    }
  }

  /** A view of `length` bytes at `offset`. */
  view(offset: number, length: number): Uint8Array {
    return new Uint8Array(this.buffer, offset, length);
  }

  #place(size: number): number {
    let offset = -1;
    const tail = this.#regions[0]?.offset;
    if (tail === undefined) offset = 0;
    else if (this.#head > tail) {
      // Free space is [head, end) and [0, tail): use the first that fits.
      if (this.#head + size <= this.#size) offset = this.#head;
      else if (size <= tail) offset = 0;
    } else if (this.#head + size <= tail) {
      // Wrapped: free space is [head, tail).
      offset = this.#head;
    }
    if (offset < 0) return -1;
    const region: Region = { offset, end: offset + size, freed: false };
    this.#regions.push(region);
    this.#byOffset.set(offset, region);
    this.#head = region.end;
    return offset;
  }
}
