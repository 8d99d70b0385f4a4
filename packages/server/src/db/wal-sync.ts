import { open, type FileHandle } from 'node:fs/promises';

/**
 * Makes SQLite's write-ahead log durable off the event loop, one fsync for
 * many commits (group commit).
 *
 * With synchronous=FULL, SQLite fsyncs the WAL inside COMMIT: `node:sqlite` is
 * synchronous, so every commit stalled the whole server for that fsync (1–10 ms
 * on a loaded disk, once per stored object). Instead the connection runs with
 * synchronous=NORMAL — commits write their WAL frames but do not fsync them —
 * and every caller waits here, after its statement, until an fsync of the WAL
 * that began after that statement has finished. That fsync runs in libuv's
 * thread pool, and one covers every commit written before it started.
 *
 * Reads wait too when commits are still unsynced: nobody is ever answered
 * with data a power cut could still take back — as with synchronous=FULL.
 * (Checkpoints keep SQLite's own NORMAL-mode fsyncs of the WAL and database.)
 */
export class WalSync {
  readonly #path: string;
  /** Statements that may have written, counted in the order they ran. */
  #written = 0;
  /** How many of them are known to be on disk. */
  #durable = 0;
  #flushing: Promise<void> | undefined;
  /**
   * Kept open between syncs (two fewer thread-pool calls each time). SQLite
   * removes or replaces the WAL only when its last connection closes — ours,
   * after `close` below.
   */
  #handle: Promise<FileHandle> | undefined;

  constructor(walPath: string) {
    this.#path = walPath;
  }

  /** Call synchronously right after a statement or transaction; returns the mark to `settle` on. */
  mark(wrote: boolean): number {
    if (wrote) this.#written++;
    return this.#written;
  }

  /** Resolves once every write up to `mark` is durable. */
  settle(mark: number): Promise<void> {
    return this.#durable >= mark ? Promise.resolve() : this.#until(mark);
  }

  async #until(mark: number): Promise<void> {
    while (this.#durable < mark) {
      // An fsync already running may have started before our write: wait for it, then look again.
      this.#flushing ??= this.#flush().finally(() => {
        this.#flushing = undefined;
      });
      await this.#flushing;
    }
  }

  async #flush(): Promise<void> {
    // Every write counted so far has reached the file (synchronous write() calls) before this fsync starts.
    const upTo = this.#written;
    // Opened at the first sync: a write has happened by then, so the WAL exists.
    this.#handle ??= open(this.#path, 'r');
    try {
      await (await this.#handle).datasync();
    } catch (error) {
      // Start afresh next time (the file may have been the problem).
      await this.#release();
      throw error;
    }
    this.#durable = Math.max(this.#durable, upTo);
  }

  /** Waits for a running sync, then lets go of the WAL; call before closing the database. */
  async close(): Promise<void> {
    await this.#flushing?.catch(() => undefined);
    await this.#release();
  }

  async #release(): Promise<void> {
    const handle = this.#handle;
    this.#handle = undefined;
    await handle?.then((h) => h.close()).catch(() => undefined);
  }
}
