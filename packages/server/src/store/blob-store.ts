import type { Readable } from 'node:stream';

/**
 * Where the server keeps object bodies. Bodies are streamed both ways so the
 * server's memory stays bounded whatever the object size (a 1 GiB pack goes
 * through in small pieces). Keys are server-chosen random ids, never the
 * client's object names: a soft-deleted object and a new one of the same name
 * live side by side until the purge.
 */
export interface BlobStore {
  /** For people and logs: where the blobs live, without credentials. */
  readonly location: string;
  /**
   * Streams `size` bytes into a new blob. Resolves only when the blob is
   * durable and complete; on any error (including a body shorter or longer
   * than `size`) nothing is left behind.
   */
  write(key: string, body: Readable, size: number): Promise<void>;
  /** A stream of the blob, or of `length` bytes from `offset`. */
  read(key: string, range?: { offset: number; length: number }): Promise<Readable>;
  /**
   * Optional, for small reads: exactly `length` bytes from `offset` in one
   * buffer lent by the store (undefined when `length` is too large for it).
   * The caller calls `release` once nothing uses the bytes any more — or never,
   * if it cannot be sure (the buffer is then left to the garbage collector).
   */
  readSmall?(key: string, range: { offset: number; length: number }): Promise<{ bytes: Buffer; release: () => void } | undefined>;
  /** Removes a blob; a missing blob is not an error (purges may be retried). */
  remove(key: string): Promise<void>;
  close(): Promise<void>;
}

/** Thrown by `write` when the body's length differs from the announced size. */
export class BodyLengthError extends Error {
  override readonly name = 'BodyLengthError';
}
