/**
 * Fixed-size, position-aligned chunking, for files whose own structure already gives stable
 * boundaries. An SQLite database is an array of equal pages (4 KiB by default) that change in
 * place: cutting at multiples of the page size makes every unchanged page range an unchanged
 * chunk, so a backup stores only the pages that changed. Content-defined cuts would fall inside
 * pages and cost hashing for nothing. Cuts fall at absolute stream offsets k · chunkSize
 * whatever the pieces are, so they stay page-aligned when chunkSize is a multiple of the page size.
 *
 * Unlike content-defined chunks, these lengths are public anyway (every chunk but the last is
 * chunkSize long), so nothing here is keyed.
 */
import { fail } from '@coffer/core';
import { Chunker, MAX_CHUNK_SIZE_LIMIT, type BoundaryPolicy } from './chunker.ts';

/** SQLite's default page size (`PRAGMA page_size`); real files may use any power of two 512..65536. */
export const SQLITE_DEFAULT_PAGE_SIZE = 4096;

/** Cuts every `chunkSize` bytes of the stream. */
export class FixedBoundaries implements BoundaryPolicy {
  readonly maxChunkSize: number;
  /** Bytes of the current chunk seen so far. */
  #offset = 0;

  constructor(chunkSize: number) {
    this.maxChunkSize = checkChunkSize(chunkSize);
  }

  scan(piece: Uint8Array): number[] {
    if (!(piece instanceof Uint8Array)) fail('E_INVALID_ARGUMENT', 'a piece must be a Uint8Array');
    const cuts: number[] = [];
    let at = this.maxChunkSize - this.#offset;
    for (; at <= piece.length; at += this.maxChunkSize) cuts.push(at);
    this.#offset = piece.length - (at - this.maxChunkSize);
    return cuts;
  }

  reset(): void {
    this.#offset = 0;
  }
}

/** A streaming chunker that cuts every `chunkSize` bytes (e.g. n × the SQLite page size). */
export function createFixedChunker(chunkSize: number): Chunker {
  return new Chunker(new FixedBoundaries(chunkSize));
}

/**
 * Splits bytes already in memory into `chunkSize` views (the last may be shorter), lazily and
 * without copies. Arguments are checked at the call, not at the first iteration.
 */
export function fixedChunks(data: Uint8Array, chunkSize: number): Generator<Uint8Array, void, undefined> {
  if (!(data instanceof Uint8Array)) fail('E_INVALID_ARGUMENT', 'data must be a Uint8Array');
  return views(data, checkChunkSize(chunkSize));
}

function* views(data: Uint8Array, size: number): Generator<Uint8Array, void, undefined> {
  for (let start = 0; start < data.length; start += size) yield data.subarray(start, start + size);
}

function checkChunkSize(chunkSize: number): number {
  if (!Number.isSafeInteger(chunkSize) || chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE_LIMIT) {
    fail('E_INVALID_ARGUMENT', `a fixed chunk size must be an integer in 1..${String(MAX_CHUNK_SIZE_LIMIT)}`);
  }
  return chunkSize;
}
