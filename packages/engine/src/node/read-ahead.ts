/**
 * Reads the files of a backup ahead of the one being chunked, so the disk never waits for the
 * CPU: several reads are in flight at once, across files, up to a budget of bytes held. With a
 * cold page cache, a file read only when its predecessor is done leaves the disk idle while
 * the previous bytes are hashed, and a chat backup is mostly small media files.
 *
 * Pieces are read into regions of the shared ring (shared-ring.ts), where the pack workers read
 * them in place. The consumer takes the files in order and gives each piece back with
 * release() once it is no longer needed — possibly much later, after a worker has sealed it.
 */
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { type SharedRing, alignUp } from './shared-ring.ts';
import { type SmallFileRead, SmallFileReader } from './small-files.ts';

export interface FileToRead {
  readonly path: string;
  /** The size seen when the tree was walked; the file may since have grown or shrunk. */
  readonly size: number;
}

export interface ReadAheadOptions {
  /** Largest read. */
  readonly pieceBytes: number;
  /** Bytes read ahead and not yet released, at most (one piece is always allowed). */
  readonly aheadBytes: number;
  /** Reads in flight at most. */
  readonly reads: number;
  /**
   * Files smaller than this are read whole by the small-file reader's thread (small-files.ts),
   * when at least SMALL_FILES_FOR_THREAD of them are to be read; 0 never.
   */
  readonly smallBytes?: number;
}

/** Small files it takes to start the small-file reader's thread (≈20 ms and a few MiB). */
const SMALL_FILES_FOR_THREAD = 64;
/** A batch for the small-file reader: this many files or bytes at most. */
const BATCH_FILES = 64;
const BATCH_BYTES = 512 * 1024;
/** Files held open at once by reads planned ahead. */
const OPEN_FILES = 8;

/** Bytes of a file, in the ring at `offset`. */
export interface Piece {
  readonly offset: number;
  readonly bytes: Uint8Array;
}

/** A piece as pieces() hands it out: `last` when the file ends with it. */
export interface FilePiece extends Piece {
  readonly last: boolean;
}

interface Read {
  readonly piece: Piece;
  readonly asked: number;
}

interface Planned {
  readonly path: string;
  /** Opened when planned; for a file the small-file reader reads, only if it proves to have grown. */
  readonly handle: Promise<FileHandle> | undefined;
  /** The pieces planned from the walked size; the last asks one byte more, to notice growth. */
  readonly reads: Promise<Read>[];
  /** Every planned read is in `reads`. */
  complete: boolean;
}

export class ReadAhead {
  readonly #ring: SharedRing;
  readonly #files: readonly FileToRead[];
  readonly #options: ReadAheadOptions;
  readonly #planned = new Map<number, Planned>();
  readonly #waiters: (() => void)[] = [];
  /** The budget each region in use was counted with, by offset. */
  readonly #costs = new Map<number, number>();
  readonly #small: SmallFileReader | undefined;
  readonly #smallBytes: number;
  /** Small files planned but not yet sent to the reader, with how to settle their reads. */
  #batch: (SmallFileRead & { resolve(read: Read): void; reject(error: unknown): void })[] = [];
  #batchBytes = 0;
  /** Planned files with a handle open. */
  #open = 0;
  #next = 0;
  #held = 0;
  #reading = 0;
  #closed = false;

  constructor(ring: SharedRing, files: readonly FileToRead[], options: ReadAheadOptions) {
    this.#ring = ring;
    this.#files = files;
    this.#options = options;
    this.#smallBytes = Math.min(options.smallBytes ?? 0, options.pieceBytes);
    let small = 0;
    for (const file of files) if (file.size < this.#smallBytes) small++;
    this.#small = small >= SMALL_FILES_FOR_THREAD ? new SmallFileReader(ring.buffer) : undefined;
    void this.#produce();
  }

  /** Whether small files are read on the small-file reader's thread. */
  get usesSmallFileThread(): boolean {
    return this.#small !== undefined;
  }

  /**
   * The pieces of file `index`, in order; files must be taken in order. A read error is thrown
   * (after the file's other reads settled). Every piece must be released.
   */
  async *pieces(index: number): AsyncGenerator<FilePiece> {
    await this.#until(() => this.#planned.has(index) || this.#closed);
    const planned = this.#planned.get(index);
    if (!planned) return;
    let handle: FileHandle | undefined;
    let failure: unknown;
    let position = 0;
    let ended = false;
    /** Reads before this one were handed out or released. */
    let taken = 0;
    try {
      handle = await planned.handle;
      for (;;) {
        await this.#until(() => taken < planned.reads.length || planned.complete);
        if (taken === planned.reads.length) break;
        const read = planned.reads[taken++] as Promise<Read>;
        let result;
        try {
          result = await read;
        } catch (error) {
          failure ??= error;
          continue;
        }
        if (ended || failure !== undefined) {
          this.release(result.piece);
          continue;
        }
        ended = result.piece.bytes.length < result.asked;
        if (result.piece.bytes.length === 0) {
          this.release(result.piece);
          continue;
        }
        position += result.piece.bytes.length;
        yield { ...result.piece, last: ended };
      }
      if (failure instanceof Error) throw failure;
      if (failure !== undefined) throw new Error('a read failed', { cause: failure });
      // The last planned read came back full: the file grew since it was walked. Read on.
      while (!ended) {
        handle ??= await open(planned.path, 'r');
        const piece = await this.#read(handle, position, this.#options.pieceBytes, Infinity);
        ended = piece.bytes.length < this.#options.pieceBytes;
        position += piece.bytes.length;
        if (piece.bytes.length > 0) yield { ...piece, last: ended };
        else this.release(piece);
      }
    } finally {
      this.#planned.delete(index);
      // An early return or a failure leaves reads behind: settle them, so none goes unhandled.
      for (const read of planned.reads.slice(taken)) {
        void read.then(
          (r) => {
            this.release(r.piece);
          },
          () => undefined,
        );
      }
      await (handle ?? (await planned.handle?.catch(() => undefined)))?.close().catch(() => undefined);
      if (planned.handle) this.#open--;
      this.#signal();
    }
  }

  /** Gives a piece's region back. */
  release(piece: Piece): void {
    this.#held -= this.#costs.get(piece.offset) ?? 0;
    this.#costs.delete(piece.offset);
    this.#ring.free(piece.offset);
    this.#signal();
  }

  /** Stops reading ahead; files not yet taken are closed. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#signal();
    for (const [index, planned] of this.#planned) {
      this.#planned.delete(index);
      planned.complete = true;
      for (const read of planned.reads) void read.then((r) => { this.release(r.piece); }, () => undefined);
      if (planned.handle) this.#open--;
      await planned.handle?.then((h) => h.close()).catch(() => undefined);
    }
    this.#sendBatch();
    await this.#small?.close();
  }

  async #produce(): Promise<void> {
    const { pieceBytes, aheadBytes, reads } = this.#options;
    for (; this.#next < this.#files.length && !this.#closed; this.#next++) {
      const file = this.#files[this.#next] as FileToRead;
      if (this.#small && file.size < this.#smallBytes) {
        await this.#planSmall(this.#next, file);
        continue;
      }
      this.#sendBatch();
      // Keep the number of open files bounded too: at most a few planned ahead.
      await this.#until(() => this.#open < OPEN_FILES || this.#closed);
      const handle = open(file.path, 'r');
      void handle.catch(() => undefined);
      this.#open++;
      const planned: Planned = { path: file.path, handle, reads: [], complete: false };
      this.#planned.set(this.#next, planned);
      this.#signal();
      for (let position = 0; ; position += pieceBytes) {
        const asked = Math.min(pieceBytes, file.size - position + 1);
        const cost = alignUp(asked);
        await this.#until(() => (this.#reading < reads && this.#held + cost <= aheadBytes) || this.#held === 0 || this.#closed);
        if (this.#isClosed()) break;
        this.#reading++;
        this.#held += cost;
        const read = handle
          .then(
            (h) => this.#read(h, position, asked, file.size, cost),
            (error: unknown) => {
              this.#held -= cost;
              throw error;
            },
          )
          .then((piece) => ({ piece, asked }))
          .finally(() => {
            this.#reading--;
            this.#signal();
          });
        void read.catch(() => undefined);
        planned.reads.push(read);
        this.#signal();
        if (position + asked > file.size) break;
      }
      planned.complete = true;
      this.#signal();
    }
    this.#sendBatch();
  }

  /**
   * Plans the read of a small file into the batch for the small-file reader (which reads one
   * byte more than the walked size, as the reads above do, to notice growth). A batch goes once
   * full, and before anything waits: its reads must not wait for what waits for them.
   */
  async #planSmall(index: number, file: FileToRead): Promise<void> {
    const asked = file.size + 1;
    const cost = alignUp(asked);
    const affordable = (): boolean => this.#held + cost <= this.#options.aheadBytes || this.#held === 0 || this.#closed;
    if (!affordable()) this.#sendBatch();
    await this.#until(affordable);
    if (this.#isClosed()) return;
    let offset = this.#ring.tryAlloc(asked);
    if (offset < 0) {
      this.#sendBatch();
      offset = await this.#ring.alloc(asked);
      if (this.#isClosed()) {
        this.#ring.free(offset);
        return;
      }
    }
    this.#held += cost;
    this.#costs.set(offset, cost);
    const read = new Promise<Read>((resolve, reject) => {
      this.#batch.push({ path: file.path, offset, length: asked, expected: file.size, resolve, reject });
    });
    void read.catch(() => undefined);
    this.#batchBytes += asked;
    this.#planned.set(index, { path: file.path, handle: undefined, reads: [read], complete: true });
    this.#signal();
    if (this.#batch.length >= BATCH_FILES || this.#batchBytes >= BATCH_BYTES) this.#sendBatch();
  }

  #sendBatch(): void {
    const batch = this.#batch;
    const reader = this.#small;
    if (batch.length === 0 || !reader) return;
    this.#batch = [];
    this.#batchBytes = 0;
    const settle = (results: readonly (number | Error)[]): void => {
      for (const [i, file] of batch.entries()) {
        const result = results[i];
        if (typeof result === 'number') file.resolve({ piece: { offset: file.offset, bytes: this.#ring.view(file.offset, result) }, asked: file.length });
        else {
          this.release({ offset: file.offset, bytes: this.#ring.view(file.offset, 0) });
          file.reject(result);
        }
      }
    };
    reader.read(batch).then(settle, (error: unknown) => {
      settle(batch.map(() => (error instanceof Error ? error : new Error(String(error)))));
    });
  }

  /**
   * One read into a region of the ring, counted in the budget until released (already, if
   * `counted` is its cost). `expected` is the file's walked size.
   */
  async #read(handle: FileHandle, position: number, length: number, expected: number, counted?: number): Promise<Piece> {
    const cost = counted ?? alignUp(length);
    if (counted === undefined) this.#held += cost;
    let offset;
    try {
      offset = await this.#ring.alloc(length);
    } catch (error) {
      this.#held -= cost;
      throw error;
    }
    this.#costs.set(offset, cost);
    const target = this.#ring.view(offset, length);
    let done = 0;
    try {
      while (done < length) {
        const { bytesRead } = await handle.read(target, done, length - done, position + done);
        done += bytesRead;
        // A short read of a regular file is its end: asking again only to be told 0 cost a
        // second read, with its thread-pool round trip, for every small file. Only past the
        // walked size, though: a file system that returns less (FUSE may) is asked again.
        if (bytesRead === 0 || (done < length && position + done >= expected)) break;
      }
    } catch (error) {
      this.release({ offset, bytes: target });
      throw error;
    }
    return { offset, bytes: target.subarray(0, done) };
  }

  #until(ready: () => boolean): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (ready()) resolve();
        else this.#waiters.push(check);
      };
      this.#waiters.push(check);
    });
  }

  /** A method, not the field: the field may change across the awaits that precede a check. */
  #isClosed(): boolean {
    return this.#closed;
  }

  #signal(): void {
    const waiters = this.#waiters.splice(0);
    for (const waiter of waiters) waiter();
  }
}
