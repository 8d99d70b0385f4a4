/**
 * Chunk boundaries for SQLite files (format.md §9.12). A database is an array of equal pages that
 * change in place, and a day of a messenger rewrites pages scattered over the whole file; with
 * content-defined chunks of ≈1 MiB nearly every chunk would hold a changed page. Cutting at page
 * boundaries instead makes each page its own chunk, so a backup stores exactly the pages that
 * changed, and an unchanged page is never uploaded twice.
 *
 * - A database (header "SQLite format 3\0") is cut every page: at k · page_size.
 * - A write-ahead log (-wal) is a 32-byte header and frames of a 24-byte frame header and one
 *   page. The frame headers carry salts and a running checksum, so they differ whenever the log
 *   restarts; the pages do not. Cutting around every page (the first chunk is the log header with
 *   the first frame header, then page, frame header, page, …) keeps the pages pure, so a page in
 *   the log and the same page once checkpointed into the database are one blob.
 * - Anything else keeps the repository's keyed content-defined chunker.
 *
 * Detection needs at most the first 24 bytes, and no policy cuts that early (a page is ≥ 512
 * bytes, the first log chunk 56, a content-defined chunk ≥ 64), so the policy can decide before
 * it has to answer for any cut. Page boundaries are a fact of the file format, not a secret: the
 * sizes of these chunks reveal the page size and nothing else.
 */
import { fail } from '@coffer/core';
import type { BoundaryPolicy } from './chunker.ts';
import { FixedBoundaries } from './fixed.ts';

/** The first 16 bytes of every SQLite database. */
export const SQLITE_MAGIC = new TextEncoder().encode('SQLite format 3\0');
/** WAL magic numbers (big-endian u32 at offset 0); the low bit names the checksum byte order. */
export const WAL_MAGICS: readonly number[] = [0x377f0682, 0x377f0683];
/** The only WAL format version there is (u32 at offset 4). */
export const WAL_FORMAT_VERSION = 3007000;
export const WAL_HEADER_BYTES = 32;
export const WAL_FRAME_HEADER_BYTES = 24;
export const MIN_PAGE_SIZE = 512;
export const MAX_PAGE_SIZE = 65536;
/** Bytes of a file's start that decide its layout. */
export const SNIFF_BYTES = 24;

export type SqliteLayout = { readonly kind: 'database'; readonly pageSize: number } | { readonly kind: 'wal'; readonly pageSize: number };

/** What the first bytes say: a layout, 'other' (not SQLite), or 'more' (too few bytes to tell). */
export type Detection = SqliteLayout | 'other' | 'more';

/**
 * Recognises an SQLite database or write-ahead log from the start of a file. A database needs its
 * magic, a valid page size (u16 at 16, where 1 means 65536) and the payload fractions 64, 32, 32
 * (bytes 21–23) that every SQLite version writes; a log needs a magic, format version 3007000 and
 * a valid page size (u32 at 8). Anything else is 'other'. `head` may be longer than needed.
 */
export function detectSqlite(head: Uint8Array): Detection {
  if (head.length === 0) return 'more';
  if (head[0] === SQLITE_MAGIC[0]) return detectDatabase(head);
  if (head[0] === 0x37) return detectWal(head);
  return 'other';
}

function detectDatabase(head: Uint8Array): Detection {
  const known = Math.min(head.length, SQLITE_MAGIC.length);
  for (let i = 0; i < known; i++) if (head[i] !== SQLITE_MAGIC[i]) return 'other';
  if (head.length < SNIFF_BYTES) return 'more';
  const raw = ((head[16] ?? 0) << 8) | (head[17] ?? 0);
  const pageSize = raw === 1 ? MAX_PAGE_SIZE : raw;
  if (!isPageSize(pageSize) || head[21] !== 64 || head[22] !== 32 || head[23] !== 32) return 'other';
  return { kind: 'database', pageSize };
}

function detectWal(head: Uint8Array): Detection {
  if (head.length < 4) {
    // Compare what there is with the magics' shared first three bytes.
    const prefix = [0x37, 0x7f, 0x06];
    for (let i = 0; i < head.length; i++) if (head[i] !== prefix[i]) return 'other';
    return 'more';
  }
  if (!WAL_MAGICS.includes(u32(head, 0))) return 'other';
  if (head.length < 12) return 'more';
  const pageSize = u32(head, 8);
  if (u32(head, 4) !== WAL_FORMAT_VERSION || !isPageSize(pageSize)) return 'other';
  return { kind: 'wal', pageSize };
}

function isPageSize(size: number): boolean {
  return size >= MIN_PAGE_SIZE && size <= MAX_PAGE_SIZE && (size & (size - 1)) === 0;
}

function u32(bytes: Uint8Array, at: number): number {
  return (((bytes[at] ?? 0) << 24) | ((bytes[at + 1] ?? 0) << 16) | ((bytes[at + 2] ?? 0) << 8) | (bytes[at + 3] ?? 0)) >>> 0;
}

/**
 * Write-ahead-log boundaries: after the log header and first frame header (56 bytes), then
 * alternately after each page and after each frame header. Frames sit at 32 + k · (24 + page size).
 */
export class WalBoundaries implements BoundaryPolicy {
  readonly maxChunkSize: number;
  readonly #pageSize: number;
  /** Stream offset of the current piece's first byte. */
  #position = 0;
  /** Stream offset of the next cut. */
  #next = WAL_HEADER_BYTES + WAL_FRAME_HEADER_BYTES;
  /** Whether the chunk after #next is a page (else a frame header). */
  #pageFollows = true;

  constructor(pageSize: number) {
    if (!isPageSize(pageSize)) fail('E_INVALID_ARGUMENT', `an SQLite page size must be a power of two in ${String(MIN_PAGE_SIZE)}..${String(MAX_PAGE_SIZE)}`);
    this.#pageSize = pageSize;
    this.maxChunkSize = Math.max(pageSize, WAL_HEADER_BYTES + WAL_FRAME_HEADER_BYTES);
  }

  scan(piece: Uint8Array): number[] {
    if (!(piece instanceof Uint8Array)) fail('E_INVALID_ARGUMENT', 'a piece must be a Uint8Array');
    const end = this.#position + piece.length;
    const cuts: number[] = [];
    while (this.#next <= end) {
      cuts.push(this.#next - this.#position);
      this.#next += this.#pageFollows ? this.#pageSize : WAL_FRAME_HEADER_BYTES;
      this.#pageFollows = !this.#pageFollows;
    }
    this.#position = end;
    return cuts;
  }

  reset(): void {
    this.#position = 0;
    this.#next = WAL_HEADER_BYTES + WAL_FRAME_HEADER_BYTES;
    this.#pageFollows = true;
  }
}

/** The boundary policy for one layout: page cuts for a database, page-and-frame cuts for a log. */
export function sqliteBoundaries(layout: SqliteLayout): BoundaryPolicy {
  return layout.kind === 'database' ? new FixedBoundaries(layout.pageSize) : new WalBoundaries(layout.pageSize);
}

/**
 * Chooses, per stream, between SQLite boundaries and a general policy by looking at the stream's
 * first bytes (kept in a 24-byte buffer until it can tell). The bytes seen before the decision are
 * replayed into the chosen policy, so a general policy cuts exactly where it would have alone:
 * non-SQLite files chunk, and deduplicate, as they always did.
 */
export class SqliteAwareBoundaries implements BoundaryPolicy {
  readonly maxChunkSize: number;
  readonly #general: BoundaryPolicy;
  readonly #head = new Uint8Array(SNIFF_BYTES);
  #seen = 0;
  #chosen: BoundaryPolicy | undefined;
  #layout: SqliteLayout | undefined;

  constructor(general: BoundaryPolicy) {
    this.#general = general;
    this.maxChunkSize = Math.max(general.maxChunkSize, MAX_PAGE_SIZE);
  }

  /** The current stream's SQLite layout, once known; undefined for other files (or before the decision). */
  get layout(): SqliteLayout | undefined {
    return this.#layout;
  }

  scan(piece: Uint8Array): number[] {
    if (this.#chosen) return this.#chosen.scan(piece);
    if (!(piece instanceof Uint8Array)) fail('E_INVALID_ARGUMENT', 'a piece must be a Uint8Array');
    const before = this.#seen;
    const take = Math.min(piece.length, SNIFF_BYTES - before);
    this.#head.set(piece.subarray(0, take), before);
    this.#seen = before + take;
    const detected = detectSqlite(this.#head.subarray(0, this.#seen));
    if (detected === 'more') return []; // every policy's first cut lies beyond the sniffed bytes
    this.#layout = detected === 'other' ? undefined : detected;
    const chosen = detected === 'other' ? this.#general : sqliteBoundaries(detected);
    this.#chosen = chosen;
    if (chosen.scan(this.#head.subarray(0, before)).length > 0) fail('E_INVALID_ARGUMENT', 'a boundary policy cut inside the sniffed header');
    return chosen.scan(piece);
  }

  reset(): void {
    this.#general.reset();
    this.#seen = 0;
    this.#chosen = undefined;
    this.#layout = undefined;
  }
}
