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
}

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
  readonly handle: Promise<FileHandle>;
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
  #next = 0;
  #held = 0;
  #reading = 0;
  #closed = false;

  constructor(ring: SharedRing, files: readonly FileToRead[], options: ReadAheadOptions) {
    this.#ring = ring;
    this.#files = files;
    this.#options = options;
    void this.#produce();
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
        if (ended || failure !== undefined || result.piece.bytes.length === 0) {
          this.release(result.piece);
          continue;
        }
        position += result.piece.bytes.length;
        ended = result.piece.bytes.length < result.asked;
        yield { ...result.piece, last: ended };
      }
      if (failure instanceof Error) throw failure;
      if (failure !== undefined) throw new Error('a read failed', { cause: failure });
      // The last planned read came back full: the file grew since it was walked. Read on.
      while (!ended) {
        const piece = await this.#read(handle, position, this.#options.pieceBytes);
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
      await (handle ?? (await planned.handle.catch(() => undefined)))?.close().catch(() => undefined);
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
      await planned.handle.then((h) => h.close()).catch(() => undefined);
    }
  }

  async #produce(): Promise<void> {
    const { pieceBytes, aheadBytes, reads } = this.#options;
    for (; this.#next < this.#files.length && !this.#closed; this.#next++) {
      const file = this.#files[this.#next] as FileToRead;
      // Keep the number of open files bounded too: at most a few planned ahead.
      await this.#until(() => this.#planned.size < 8 || this.#closed);
      const handle = open(file.path, 'r');
      void handle.catch(() => undefined);
      const planned: Planned = { handle, reads: [], complete: false };
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
            (h) => this.#read(h, position, asked, cost),
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
  }

  /** One read into a region of the ring, counted in the budget until released (already, if `counted` is its cost). */
  async #read(handle: FileHandle, position: number, length: number, counted?: number): Promise<Piece> {
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
        if (bytesRead === 0) break;
        done += bytesRead;
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
